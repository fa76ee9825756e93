"""Render ``bench/results/*.json`` into ``bench/RESULTS.md``.

    .venv/bin/python bench/report.py

Each benchmark script calls this after saving its results, so RESULTS.md always shows the
latest run of every benchmark, database and size, with the machine it ran on. Hand-written
findings live in ``bench/FINDINGS.md`` and are copied in at the end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SIZE_ORDER = {"toy": 0, "10k": 1, "1m": 2, "5m": 3}


def _load() -> list[dict[str, Any]]:
    records = []
    for path in sorted(common.RESULTS_DIR.glob("*.json")):
        record = json.loads(path.read_text())
        record["_name"] = path.stem
        records.append(record)
    return records


def _of(records: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    chosen = [r for r in records if r["_name"].startswith(prefix)]
    return sorted(chosen, key=lambda r: (r.get("dialect", ""), SIZE_ORDER.get(r.get("size", ""), 9), r["_name"]))


def _when(record: dict[str, Any]) -> str:
    load = record.get("load", {})
    return (
        f"run {record.get('recorded_at', '?')} at commit {record.get('commit', '?')}, "
        f"load average {load.get('loadavg_1m', '?')} / {load.get('loadavg_5m', '?')} on {load.get('cores', '?')} cores"
    )


def _machine(records: list[dict[str, Any]]) -> list[str]:
    if not records:
        return ["(no results yet)"]
    latest = max(records, key=lambda r: r.get("recorded_at", ""))
    m = latest.get("machine", {})
    return [
        f"- CPU: {m.get('cpu', '?')}, {m.get('cores', '?')} cores; RAM {m.get('ram', '?')}; "
        f"Linux {m.get('kernel', '?')}",
        f"- Python {m.get('python', '?')}, SQLite {m.get('sqlite', '?')}, PostgreSQL {m.get('postgresql', '?')}",
        "- PostgreSQL and the benchmarks share the machine; the load average at each run is given beside it "
        "(2 cores: anything above 2 means other work was competing, e.g. other test suites).",
    ]


def _generation(records: list[dict[str, Any]]) -> list[str]:
    chosen = _of(records, "generate-")
    if not chosen:
        return []
    lines = [
        "## Generated data",
        "",
        "`flask timebank generate` (timebank/generate.py), seed 1, history ending 2026-11-20.",
        "",
    ]
    lines.append(
        common.table(
            ["database", "size", "what it made", "seconds"],
            [[r["dialect"], r["size"], r["summary"], r["seconds"]] for r in chosen],
        )
    )
    return [*lines, ""]


def _posting(records: list[dict[str, Any]]) -> list[str]:
    chosen = _of(records, "posting-")
    if not chosen:
        return []
    lines = [
        "## 1. Posting: approve_exchange vs the hand-written SQL floor",
        "",
        "Target: service throughput >= 0.5 x the floor's. `bench/posting.py`.",
        "",
    ]
    for r in chosen:
        lines += [
            f"**{r['dialect']}** ({_when(r)}; {r.get('members', '?')} members, "
            f"{r.get('transfers_before', '?')} transfers before the run)",
            "",
        ]
        lines.append(
            common.table(
                [
                    "clients",
                    "approvals per path",
                    "service /s",
                    "floor /s",
                    "service ms each",
                    "floor ms each",
                    "ratio",
                    "target",
                    "service without notifications /s",
                ],
                [
                    [
                        x["clients"],
                        x["exchanges"],
                        x["service_per_s"],
                        x["floor_per_s"],
                        x["service_ms_each"],
                        x["floor_ms_each"],
                        x["ratio"],
                        common.verdict(x["target_met"]),
                        x.get("quiet_per_s", "-"),
                    ]
                    for x in r["rows"]
                ],
            )
        )
        problems = r.get("error_count", 0), len(r.get("ledger_problems", []))
        trips = r.get("round_trips_per_approval")
        written = r.get("rows_written")
        if trips:
            lines += [
                "",
                "Statements sent per approval: "
                + ", ".join(f"{path} {count:g}" for path, count in trips.items())
                + " (service-quiet: the service with its notifications step switched off).",
            ]
        if written:
            lines += [
                "",
                "Rows each path wrote (the run fails unless service and floor wrote the same): "
                + "; ".join(
                    f"{path}: " + ", ".join(f"{count} {table}" for table, count in tables.items())
                    for path, tables in written.items()
                )
                + ".",
            ]
        lines += [
            "",
            "check_ledger passed; every exchange approved once."
            if problems == (0, 0)
            else f"Errors: {problems[0]}, ledger problems: {r.get('ledger_problems')}",
            "",
        ]
    return lines


def _pages(records: list[dict[str, Any]]) -> list[str]:
    chosen = _of(records, "pages-")
    if not chosen:
        return []
    lines = [
        "## 2. Pages under gunicorn (2 workers) and a closed-loop load generator",
        "",
        "Targets: each page's throughput >= 0.3 x the bare route's (`/healthz`: one `SELECT 1` through "
        "the same app, workers and connection pool); p95 at 5M transfers <= 1.5 x p95 at 10k. "
        "`bench/pages.py`. The last three columns are one request at a time in process (no HTTP): statements, "
        "time inside them, and the whole request; they show whether a page waits on the database or on Python.",
        "",
    ]
    p95_by_page: dict[tuple[str, str], dict[str, float]] = {}
    for r in chosen:
        lines += [
            f"**{r['dialect']}, {r['size']}** ({r.get('transfers', '?')} transfers; {_when(r)}; "
            f"{r.get('users', '?')} virtual users, {r.get('seconds_per_page', '?')} s per page)",
            "",
        ]
        lines.append(
            common.table(
                [
                    "page",
                    "requests",
                    "req/s",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "errors",
                    "x bare",
                    "target",
                    "queries",
                    "SQL ms",
                    "in-process ms",
                ],
                [
                    [
                        x["page"],
                        x["requests"],
                        x["rps"],
                        x["p50_ms"],
                        x["p95_ms"],
                        x["p99_ms"],
                        x["errors"],
                        x.get("ratio_to_bare", float("nan")),
                        "-" if x["page"].startswith("bare") else common.verdict(x.get("target_met", False)),
                        x.get("queries", "-"),
                        x.get("sql_ms", "-"),
                        x.get("app_ms", "-"),
                    ]
                    for x in r["rows"]
                ],
            )
        )
        for x in r["rows"]:
            # No request finished within the run: slower than anything measured.
            p95 = x["p95_ms"] if x["requests"] else float("inf")
            p95_by_page.setdefault((r["dialect"], x["page"]), {})[r["size"]] = p95
        if r.get("notes"):
            lines += ["", *[f"- {note}" for note in r["notes"]]]
        lines.append("")
    growth = []
    for (dialect, page), by_size in sorted(p95_by_page.items()):
        if "10k" in by_size and len(by_size) > 1:
            largest = max(by_size, key=lambda s: SIZE_ORDER.get(s, 0))
            if largest == "10k":
                continue
            ratio = by_size[largest] / by_size["10k"] if by_size["10k"] else float("nan")
            growth.append(
                [
                    dialect,
                    page,
                    by_size["10k"],
                    by_size.get("1m", float("nan")),
                    by_size.get("5m", float("nan")),
                    f"{ratio:.2f} ({largest})",
                    common.verdict(ratio <= 1.5) if largest == "5m" else f"{common.verdict(ratio <= 1.5)} so far",
                ]
            )
    if growth:
        lines += ["p95 growth with data (target: 5M / 10k <= 1.5):", ""]
        lines.append(common.table(["database", "page", "p95 10k", "p95 1M", "p95 5M", "growth", "target"], growth))
        lines.append("")
    return lines


def _close(records: list[dict[str, Any]]) -> list[str]:
    chosen = _of(records, "close-")
    if not chosen:
        return []
    lines = [
        "## 3. Month close and monthly report vs one SQL aggregate",
        "",
        "Target: close <= 2 x the single aggregate that computes the same statement figures. `bench/close.py`.",
        "",
    ]
    for r in chosen:
        lines += [
            f"**{r['dialect']}, {r['size']}**: the largest timebank ({r.get('accounts', '?')} accounts, "
            f"{r.get('timebank_transfers', '?')} transfers; {_when(r)})",
            "",
        ]
        lines.append(
            common.table(
                ["what", "app ms", "single aggregate ms", "ratio", "target"],
                [[x["what"], x["app_ms"], x["aggregate_ms"], x["ratio"], x.get("target", "-")] for x in r["rows"]],
            )
        )
        if r.get("notes"):
            lines += ["", *[f"- {note}" for note in r["notes"]]]
        lines.append("")
    return lines


def _export(records: list[dict[str, Any]]) -> list[str]:
    chosen = _of(records, "export-")
    if not chosen:
        return []
    lines = [
        "## 4. Memory of the streamed audit-trail CSV export",
        "",
        "Target: peak RSS exporting 1M rows <= 1.2 x exporting 10k rows. `bench/export_memory.py`.",
        "",
    ]
    for r in chosen:
        lines += [f"**{r['dialect']}** ({_when(r)}; {r.get('how', '')})", ""]
        lines.append(
            common.table(
                ["rows", "bytes", "seconds", "peak RSS MiB", "RSS before MiB", "x smallest"],
                [
                    [x["rows"], x["bytes"], x["seconds"], x["peak_rss_mib"], x["baseline_rss_mib"], x["ratio"]]
                    for x in r["rows"]
                ],
            )
        )
        lines += ["", f"Target: {common.verdict(r.get('target_met', False))}.", ""]
    return lines


def render() -> Path:
    records = _load()
    lines = [
        "# Benchmark results",
        "",
        "Generated by `bench/report.py` from `bench/results/*.json`; each benchmark rewrites its own results. "
        "Ratios are measured in the same run against a floor for the same work, so they hold across "
        "machines; absolute numbers are for context only. How to run: `bench/README.md`.",
        "",
        "## Machine",
        "",
        *_machine(records),
        "",
        *_generation(records),
        *_posting(records),
        *_pages(records),
        *_close(records),
        *_export(records),
    ]
    findings = common.BENCH_DIR / "FINDINGS.md"
    if findings.exists():
        lines += [findings.read_text().rstrip(), ""]
    path = common.BENCH_DIR / "RESULTS.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


if __name__ == "__main__":
    print(f"Wrote {render()}")
