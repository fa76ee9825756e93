"""Memory of the streamed CSV export: the audit trail at 10k rows vs 1M rows.

    .venv/bin/python bench/export_memory.py [--db postgresql|sqlite|both] [--rows 10000,1000000]

The export is ``GET /coordinator/audit.csv`` (``timebank/coordinator/audit_routes.py``:
``stream_with_context`` over ``audit.service.iter_events_csv``, which reads with ``yield_per``,
a server-side cursor on PostgreSQL). Setup: a fresh database with one generated timebank per
size, and that many audit events for each written in bulk (``INSERT ... SELECT`` from
``generate_series`` on PostgreSQL, a recursive CTE on SQLite).

Each export runs in its own fresh Python process: it creates the app, signs the coordinator
in, reads the whole response chunk by chunk (counting bytes and lines, keeping nothing), and
reports its peak resident memory (``VmHWM`` in /proc/self/status) and its memory just before
the export. Target: peak RSS at the largest size <= 1.2 x peak RSS at the smallest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET = 1.2

PG_FILL = """
INSERT INTO audit_events (timebank_id, actor_id, on_behalf_of_id, action, subject_type, subject_id, before, after,
                          created_at)
SELECT :tb, :actor, NULL, 'exchange.approved', 'exchange', g,
       CASE WHEN g % 10 = 0 THEN '{"status": "confirmed"}'::json END,
       json_build_object('minutes', 60 + g % 4 * 15, 'note', 'Bulk audit row ' || g),
       TIMESTAMP '2026-11-20 12:00' - g * INTERVAL '7 seconds'
FROM generate_series(1, :n) AS g
"""

SQLITE_FILL = """
INSERT INTO audit_events (timebank_id, actor_id, on_behalf_of_id, action, subject_type, subject_id, before, after,
                          created_at)
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < :n)
SELECT :tb, :actor, NULL, 'exchange.approved', 'exchange', x,
       CASE WHEN x % 10 = 0 THEN '{"status": "confirmed"}' END,
       json_object('minutes', 60 + x % 4 * 15, 'note', 'Bulk audit row ' || x),
       datetime('2026-11-20 12:00', '-' || (x * 7) || ' seconds')
FROM g
"""


def setup(url: str, sizes: list[int]) -> list[dict[str, Any]]:
    """One timebank per size, each with that many audit events; their coordinators' emails."""
    from sqlalchemy import select, text

    from timebank.extensions import db
    from timebank.generate import GenerateSpec, generate
    from timebank.models import Member, Role

    common.fresh_database(url)
    app = common.make_app(url)
    plan = []
    with app.app_context():
        session = db.session()
        generate(
            session,
            GenerateSpec(
                timebanks=len(sizes),
                members=30 * len(sizes),
                months=1,
                seed=common.SEED,
                today=common.TODAY,
                password=common.PASSWORD,
            ),
        )
        coordinators = session.scalars(
            select(Member).where(Member.role == Role.COORDINATOR).order_by(Member.timebank_id)
        ).all()
        fill = text(PG_FILL if common.dialect_of(url) == "postgresql" else SQLITE_FILL)
        for rows, coordinator in zip(sizes, coordinators, strict=True):
            existing = session.scalar(
                text("SELECT count(*) FROM audit_events WHERE timebank_id = :tb"), {"tb": coordinator.timebank_id}
            )
            started = time.perf_counter()
            session.execute(fill, {"tb": coordinator.timebank_id, "actor": coordinator.id, "n": rows})
            session.commit()
            print(f"  {rows} audit rows written in {time.perf_counter() - started:.1f} s", flush=True)
            plan.append({"rows": rows + int(existing or 0), "email": coordinator.email})
        if common.dialect_of(url) == "postgresql":
            session.execute(text("ANALYZE audit_events"))
            session.commit()
        db.session.remove()
        db.engine.dispose()
    return plan


def child(url: str, email: str) -> None:
    """In a fresh process: export the audit trail once, print what it cost as JSON."""
    from timebank.extensions import db

    app = common.make_app(url, SERVER_NAME="localhost")
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": common.PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"sign-in answered {response.status_code}")
    client.get("/coordinator/audit")  # the page once, so imports and templates are loaded
    baseline = _rss_kib("VmRSS")
    started = time.perf_counter()
    response = client.get("/coordinator/audit.csv", buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"export answered {response.status_code}")
    size = lines = 0
    for chunk in response.response:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        size += len(data)
        lines += data.count(b"\n")
    response.close()
    seconds = time.perf_counter() - started
    with app.app_context():
        db.engine.dispose()
    print(
        json.dumps(
            {"bytes": size, "lines": lines, "seconds": seconds, "baseline_kib": baseline, "peak_kib": _rss_kib("VmHWM")}
        )
    )


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run(dialect: str, sizes: list[int]) -> dict[str, Any]:
    url = common.sqlite_url("export") if dialect == "sqlite" else common.pg_url(f"{common.PG_PREFIX}_export")
    print(f"\n{dialect}: writing the audit trails ...", flush=True)
    plan = setup(url, sizes)
    rows = []
    for item in plan:
        output = subprocess.run(
            [sys.executable, __file__, "--child", url, item["email"]],
            capture_output=True,
            text=True,
            check=False,
            cwd=common.PROJECT_DIR,
        )
        if output.returncode != 0:
            raise SystemExit(f"The export process failed:\n{output.stderr[-3000:]}")
        measured = json.loads(output.stdout.strip().splitlines()[-1])
        if measured["lines"] < item["rows"]:
            raise SystemExit(f"Exported {measured['lines']} lines for {item['rows']} events")
        rows.append(
            {
                "rows": item["rows"],
                "bytes": measured["bytes"],
                "seconds": round(measured["seconds"], 1),
                "peak_rss_mib": round(measured["peak_kib"] / 1024, 1),
                "baseline_rss_mib": round(measured["baseline_kib"] / 1024, 1),
            }
        )
        print(
            f"  {item['rows']:>9} rows: {measured['bytes'] / 1e6:.1f} MB in {measured['seconds']:.1f} s, "
            f"peak RSS {measured['peak_kib'] / 1024:.1f} MiB (before the export {measured['baseline_kib'] / 1024:.1f})",
            flush=True,
        )
    smallest = rows[0]["peak_rss_mib"]
    for row in rows:
        row["ratio"] = round(row["peak_rss_mib"] / smallest, 3)
    return {
        "benchmark": "export",
        "dialect": dialect,
        "rows": rows,
        "target": TARGET,
        "target_met": rows[-1]["ratio"] <= TARGET,
        "how": "GET /coordinator/audit.csv through the app in a fresh process per export; peak = VmHWM",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rows", default="10000,1000000", help="comma-separated audit trail sizes, smallest first")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("URL", "EMAIL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    common.SAVE = not args.no_save
    if args.child:
        child(*args.child)
        return 0
    sizes = [int(n) for n in args.rows.split(",")]
    dialects = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for dialect in dialects:
        result = run(dialect, sizes)
        print(f"\nExport memory on {dialect}; target: peak RSS at {sizes[-1]} rows <= {TARGET} x at {sizes[0]}")
        print(
            common.table(
                ["rows", "bytes", "seconds", "peak RSS MiB", "RSS before MiB", "x smallest"],
                [
                    [r["rows"], r["bytes"], r["seconds"], r["peak_rss_mib"], r["baseline_rss_mib"], r["ratio"]]
                    for r in result["rows"]
                ],
            )
        )
        print(f"Target {common.verdict(result['target_met'])}.")
        if not args.no_save:
            common.save_result(f"export-{dialect}", result)
    if not args.no_save:
        common.render_report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
