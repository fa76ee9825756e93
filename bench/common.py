"""Shared pieces of the benchmarks: databases, generated data, timing, results.

Every benchmark compares the app against a floor measured in the same run, so the ratios hold
on any machine; absolute numbers are printed for context only. Results are JSON files in
``bench/results/`` and ``bench/report.py`` renders them into ``bench/RESULTS.md``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# SQLite files (instance/ is git-ignored; the smoke test points this at a temporary directory)
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", PROJECT_DIR / "instance" / "bench"))
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

PG_SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "tb_bench")
PASSWORD = "bench-password-1"  # every generated member's password (benchmark databases only)
TODAY = date(2026, 11, 20)  # the generated history ends here, whatever the clock says
SEED = 1
SAVE = True  # scripts set this to False for --no-save: then nothing is written to results/


@dataclass(frozen=True)
class Size:
    """Generator parameters for a named size; ``transfers`` is roughly what comes out."""

    name: str
    timebanks: int
    members: int
    months: int
    rate: float
    transfers: str


SIZES = {
    "toy": Size("toy", 1, 60, 2, 0.6, "~150"),
    "10k": Size("10k", 5, 800, 12, 0.6, "~10 thousand"),
    "1m": Size("1m", 100, 50_000, 12, 0.8, "~0.8 million"),
    "5m": Size("5m", 500, 200_000, 12, 1.3, "~5 million"),
}


def size(name: str) -> Size:
    if name not in SIZES:
        raise SystemExit(f"Unknown size {name!r}; choose from {', '.join(SIZES)}.")
    return SIZES[name]


# -- databases ---------------------------------------------------------------------------------


def pg_url(database: str) -> str:
    return f"{PG_SERVER}/{database}"


def sa_url(url: str) -> str:
    """The SQLAlchemy spelling (psycopg 3) of a postgresql:// URL."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def sqlite_url(name: str) -> str:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA_DIR / (name + '.sqlite')}"


def data_url(dialect: str, size_name: str) -> str:
    """The generated database of a size: PostgreSQL ``tb_bench_<size>`` or an SQLite file."""
    if dialect == "postgresql":
        return pg_url(f"{PG_PREFIX}_{size_name}")
    return sqlite_url(f"data-{size_name}")


def _admin_connection() -> Any:
    import psycopg

    return psycopg.connect(pg_url("postgres"), autocommit=True)


def pg_database_exists(database: str) -> bool:
    with _admin_connection() as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is not None


def pg_recreate(database: str, template: str | None = None) -> None:
    """Drop and create a benchmark database (only ever one named tb_bench*)."""
    if not database.startswith(PG_PREFIX):
        raise SystemExit(f"Refusing to drop {database}: benchmark databases are named {PG_PREFIX}*.")
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if template:
            connection.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        else:
            connection.execute(f'CREATE DATABASE "{database}"')


def pg_drop(database: str) -> None:
    if not database.startswith(PG_PREFIX):
        raise SystemExit(f"Refusing to drop {database}.")
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def fresh_database(url: str) -> None:
    """An empty database with the app's schema (``create_all``, as the tests do; the migration
    test proves it equals the migrated schema)."""
    from sqlalchemy import create_engine

    from timebank.models import Base

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        pg_recreate(database_name(url))
    engine = create_engine(sa_url(url))
    Base.metadata.create_all(engine)
    engine.dispose()


def make_app(url: str, **overrides: Any) -> Any:
    from timebank import create_app

    settings = {
        "SQLALCHEMY_DATABASE_URI": sa_url(url),
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
    }
    settings.update(overrides)
    return create_app(settings)


def generated(url: str) -> bool:
    """Does the database hold this seed's generated data?"""
    from sqlalchemy import create_engine, inspect, text

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False
    if url.startswith("postgresql") and not pg_database_exists(database_name(url)):
        return False
    engine = create_engine(sa_url(url))
    try:
        if not inspect(engine).has_table("timebanks"):
            return False
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM timebanks WHERE slug LIKE :p LIMIT 1"), {"p": f"gen{SEED}-%"}
            ).first()
        return found is not None
    finally:
        engine.dispose()


def ensure_generated(url: str, spec: Size, *, fresh: bool = False) -> dict[str, Any] | None:
    """Generate ``spec`` into the database unless it is already there. Returns the generation
    record (time, counts) when it generated, and stores it in results/generate-*.json."""
    if not fresh and generated(url):
        return None
    from timebank.extensions import db
    from timebank.generate import GenerateSpec, generate

    fresh_database(url)
    app = make_app(url)
    with app.app_context():
        started = time.perf_counter()
        summary = generate(
            db.session(),
            GenerateSpec(
                timebanks=spec.timebanks,
                members=spec.members,
                months=spec.months,
                seed=SEED,
                today=TODAY,
                exchanges_per_member_month=spec.rate,
                password=PASSWORD,
            ),
        )
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    record = {
        "size": spec.name,
        "dialect": dialect_of(url),
        "seconds": round(seconds, 1),
        "summary": str(summary),
        "transfers": summary.transfers,
        "command": (
            f"flask timebank generate --timebanks {spec.timebanks} --members {spec.members} "
            f"--months {spec.months} --rate {spec.rate} --today {TODAY} --password ..."
        ),
    }
    print(f"Generated {spec.name} on {dialect_of(url)} in {seconds:.1f} s: {summary}")
    if url.startswith("postgresql"):
        # After a bulk load nothing has analysed the tables yet; without statistics the
        # planner picks nested loops over whole tables.
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("ANALYZE")
    if SAVE:
        save_result(f"generate-{dialect_of(url)}-{spec.name}", record)
    return record


def dialect_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def count_rows(url: str, table: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(sa_url(url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


# -- timing and tables -------------------------------------------------------------------------


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table (also valid Markdown)."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(value.ljust(widths[i]) for i, value in enumerate(row)) + " |" for row in cells]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if value == float("inf"):
            return "none finished"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


# -- results -----------------------------------------------------------------------------------


def load_snapshot() -> dict[str, Any]:
    """Load average and the other processes' CPU share, to say whether the machine was busy."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        one = five = float("nan")
    return {"loadavg_1m": round(one, 2), "loadavg_5m": round(five, 2), "cores": os.cpu_count()}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    postgres = ""
    try:
        with _admin_connection() as connection:
            postgres = str(connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            shared = connection.execute("SHOW shared_buffers").fetchone()[0]  # type: ignore[index]
            postgres += f" (shared_buffers {shared})"
    except Exception as error:
        postgres = f"unreachable ({type(error).__name__})"
    import sqlite3

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": ram,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "kernel": platform.release(),
    }


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def save_result(name: str, record: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` (the latest run of that benchmark, database and size)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    record = {
        **record,
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "load": load_snapshot(),
        "machine": machine(),
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path


def render_report() -> None:
    from report import render  # bench/report.py, beside this file

    render()


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _missing_schema(url: str) -> list[str]:
    """Create the models' tables and indexes that a database generated under an older schema
    lacks (what migrations since then add); the names of what was added."""
    from sqlalchemy import create_engine, inspect

    from timebank.models import Base

    engine = create_engine(sa_url(url))
    added: list[str] = []
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        Base.metadata.create_all(engine)  # only the tables that are missing
        added += sorted(set(Base.metadata.tables) - tables)
        for table in Base.metadata.sorted_tables:
            if table.name not in tables:
                continue
            present = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in present:
                    index.create(engine, checkfirst=True)  # honours ddl_if (PostgreSQL-only indexes)
            now = {index["name"] for index in inspect(engine).get_indexes(table.name)}
            added += sorted(str(name) for name in now - present)
    finally:
        engine.dispose()
    return added


def _copy_database(source: str, target: str) -> None:
    if source.startswith("sqlite:///"):
        import shutil

        shutil.copyfile(source.removeprefix("sqlite:///"), target.removeprefix("sqlite:///"))
        return
    for attempt in range(30):  # CREATE DATABASE .. TEMPLATE needs the source without connections
        try:
            pg_recreate(database_name(target), template=database_name(source))
            return
        except Exception as error:  # e.g. "source database is being accessed by other users"
            if attempt == 29:
                raise
            print(f"waiting to copy {database_name(source)}: {error}".splitlines()[0])
            time.sleep(10)


def _analyze(url: str) -> None:
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("ANALYZE")


def as_in_production(url: str) -> tuple[str, dict[str, Any]]:
    """The generated database as a running installation would have it: a copy (``<name>_closed``;
    the generated one stays as made, for ``close.py``) with the models' current schema and every
    finished month closed by the scheduler's own job (``jobs.months.close_due_months``: statements,
    checksums and month summaries, month by month and timebank by timebank), then ANALYZE. Made
    once and reused. Returns the copy's URL and what making it took."""
    from datetime import UTC, datetime

    from timebank.extensions import db
    from timebank.jobs.months import close_due_months

    copy = url.replace(".sqlite", "-closed.sqlite") if url.startswith("sqlite") else url + "_closed"
    marker = DATA_DIR / f"{database_name(copy).removesuffix('.sqlite')}.ready.json"
    if marker.exists() and generated(copy):
        done = json.loads(marker.read_text())
        added = _missing_schema(copy)  # migrations since the copy was made
        if added:
            done["schema_added"] = sorted({*done["schema_added"], *added})
            _analyze(copy)
            marker.write_text(json.dumps(done))
        return copy, done
    started = time.perf_counter()
    _copy_database(url, copy)
    copied = time.perf_counter() - started
    added = _missing_schema(copy)
    app = make_app(copy)
    with app.app_context():
        started = time.perf_counter()
        result = close_due_months(db.session(), now=datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC))
        closing = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    _analyze(copy)
    done = {
        "copy_seconds": round(copied, 1),
        "schema_added": added,
        "closing_seconds": round(closing, 1),
        "closing": result.summary.split(":")[0],
        "closing_problems": list(result.problems),
    }
    print(f"Made {copy}: {done}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(done))
    return copy, done
