"""Pages under load: gunicorn (2 workers, the production gunicorn.conf.py) on a generated database.

    .venv/bin/python bench/pages.py --size 10k [--db postgresql] [--users 8] [--seconds 10] [--tool wrk|python]

The database of the size is generated first if it is not there yet (``bench/common.py``:
PostgreSQL ``tb_bench_<size>``). The app runs with ``TIMEBANK_ENV=production`` (pool sizes,
secure cookies) and rate limits off (every virtual user signs in from 127.0.0.1).

Each virtual user signs in once through the real form (the CSRF token read from the page), as
one of the most active participants of the largest timebank, or its coordinator for the
coordinator pages. Then, page by page, ``users`` connections request the page in a closed loop
for ``seconds`` (after one warm-up request per session): requests/s and p50/p95/p99 latency, and the ratio of
requests/s to the bare route served by the same app and workers. The bare route is ``/healthz``
(one ``SELECT 1`` through the app's connection pool, no session), so the ratio is what the
page's own work costs.

The load generator is wrk (``apt-get install wrk``) with a Lua script that rotates the users'
cookies and reports the percentiles, or, without wrk, a closed loop of Python threads with
http.client. Both run on the same machine as gunicorn and PostgreSQL and take CPU from them;
the same generator measures the bare route, so the ratio is fair, but absolute numbers are low.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

THROUGHPUT_TARGET = 0.3  # each page >= 0.3 x the bare route's requests/s
REPORT_MONTH = "2026-10"  # the last complete month of the generated history


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    who: str  # "anyone", "member" or "coordinator"


PAGES = [
    Page("bare (/healthz)", "/healthz", "anyone"),
    Page("member dashboard", "/dashboard", "member"),
    Page("listings search", "/listings?q=gardening", "member"),
    Page("coordinator dashboard", "/coordinator/dashboard", "coordinator"),
    Page("monthly report", f"/reports/monthly?month={REPORT_MONTH}", "coordinator"),
]


# -- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        # Production settings: pool sizes, Secure and __Host- cookies (the load generator sends
        # cookies back whatever their flags; HSTS is only sent over HTTPS).
        "TIMEBANK_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
        "WEB_CONCURRENCY": str(workers),
        "TIMEBANK_BIND": f"127.0.0.1:{port}",
        "RATELIMIT_ENABLED": "0",
        "TIMEBANK_LOG_LEVEL": "warning",
    }
    # gunicorn.conf.py as in production, except two things: no access log (every line would cost
    # the same on every route), and no recycling of workers after max_requests (~2,000): in a
    # short benchmark a worker rebooting mid-run stalls requests for seconds (seen as a bare-route
    # p95 of 3.5 s against a p50 of 17 ms), which is noise here, not what a page costs.
    gunicorn = str(common.PROJECT_DIR / ".venv" / "bin" / "gunicorn")
    if not Path(gunicorn).exists():
        gunicorn = shutil.which("gunicorn") or "gunicorn"
    process = subprocess.Popen(
        [gunicorn, "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null", "--max-requests", "0", "wsgi:app"],
        cwd=common.PROJECT_DIR,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn stopped; see {log}")
        try:
            status, _body, _cookies = request(port, "GET", "/healthz")
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    stop(process)
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- a tiny HTTP client with cookies -----------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    *,
    cookie: str = "",
    body: dict[str, str] | None = None,
    timeout: float = 120,
) -> tuple[int, str, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Cookie": cookie} if cookie else {}
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    text = response.read().decode("utf-8", "replace")
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            cookies[key] = rest.split(";", 1)[0]
    connection.close()
    return response.status, text, cookies


def sign_in(port: int, email: str) -> str:
    """Sign in through the form; the session cookie ("name=value")."""
    status, page, cookies = request(port, "GET", "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if status != 200 or token is None:
        raise SystemExit(f"GET /login answered {status} without a CSRF token")
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    status, _page, new = request(
        port,
        "POST",
        "/login",
        cookie=cookie,
        body={"csrf_token": token.group(1), "email": email, "password": common.PASSWORD},
    )
    if status != 302 or not new:
        raise SystemExit(f"Signing in as {email} answered {status}")
    cookies.update(new)
    # The landing page shows (and so takes out of the session) the "Welcome back" message; keep
    # the cookie after it, or every measured request would show it again and set a new cookie.
    _status, _page, after = request(port, "GET", "/", cookie="; ".join(f"{k}={v}" for k, v in cookies.items()))
    cookies.update(after)
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def drain(port: int) -> None:
    """Wait until the workers have served every request wrk left behind: a request queued after
    them is answered only then (sync workers take connections in turn)."""
    request(port, "GET", "/healthz", timeout=600)


# -- who signs in ------------------------------------------------------------------------------


def people(url: str, users: int) -> dict[str, Any]:
    """The largest timebank, its coordinator and its most active participants."""
    from sqlalchemy import create_engine, text

    engine = create_engine(common.sa_url(url))
    with engine.connect() as connection:
        timebank_id, members = connection.execute(
            text(
                "SELECT timebank_id, count(*) FROM members WHERE timebank_id IS NOT NULL "
                "GROUP BY timebank_id ORDER BY count(*) DESC, timebank_id LIMIT 1"
            )
        ).one()
        coordinator = connection.execute(
            text("SELECT email FROM members WHERE timebank_id = :t AND role = 'coordinator' ORDER BY id LIMIT 1"),
            {"t": timebank_id},
        ).scalar_one()
        active = (
            connection.execute(
                text(
                    "SELECT m.email FROM members m JOIN accounts a ON a.member_id = m.id "
                    "WHERE m.timebank_id = :t AND m.role = 'participant' AND m.status = 'approved' "
                    "ORDER BY a.credits_posted + a.debits_posted DESC, m.id LIMIT :n"
                ),
                {"t": timebank_id, "n": users},
            )
            .scalars()
            .all()
        )
        transfers = connection.execute(text("SELECT count(*) FROM transfers")).scalar_one()
        timebank_transfers = connection.execute(
            text("SELECT count(*) FROM transfers WHERE timebank_id = :t"), {"t": timebank_id}
        ).scalar_one()
    engine.dispose()
    return {
        "timebank_id": timebank_id,
        "members": members,
        "coordinator": coordinator,
        "participants": list(active),
        "transfers": transfers,
        "timebank_transfers": timebank_transfers,
    }


# -- load generators ---------------------------------------------------------------------------

WRK_SCRIPT = """
local cookies = {%(cookies)s}
local path = "%(path)s"
local counter = 0
function setup(thread)
  thread:set("offset", #cookies > 0 and math.random(#cookies) or 0)
end
function request()
  counter = counter + 1
  local headers = {}
  if #cookies > 0 then
    headers["Cookie"] = cookies[((counter + offset) %% #cookies) + 1]
  end
  return wrk.format("GET", path, headers)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%.1f %%.1f %%.1f\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def run_wrk(port: int, page: Page, cookies: list[str], users: int, seconds: float) -> dict[str, Any]:
    script = WRK_SCRIPT % {
        "cookies": ", ".join('"' + c.replace('"', '\\"') + '"' for c in cookies),
        "path": page.path,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = [
            "wrk",
            "-t",
            "2",
            "-c",
            str(users),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            handle.name,
            f"http://127.0.0.1:{port}/",
        ]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        if finished.returncode != 0:
            raise SystemExit(f"wrk failed: {finished.stderr or finished.stdout}")
        output = finished.stdout
    finally:
        os.unlink(handle.name)
    line = next(x for x in output.splitlines() if x.startswith("RESULT"))
    requests_, duration_us, status_errors, socket_errors, p50, p95, p99 = line.split()[1:]
    return {
        "requests": int(requests_),
        "seconds": int(duration_us) / 1e6,
        "errors": int(status_errors) + int(socket_errors),
        "p50_ms": float(p50) / 1000,
        "p95_ms": float(p95) / 1000,
        "p99_ms": float(p99) / 1000,
    }


def run_python(port: int, page: Page, cookies: list[str], users: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def user(index: int) -> None:
        cookie = cookies[index % len(cookies)] if cookies else ""
        headers = {"Cookie": cookie} if cookie else {}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        failed = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                connection.request("GET", page.path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
                if response.will_close:
                    connection.close()  # gunicorn's sync workers close after each response
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "errors": errors[0],
        "p50_ms": common.percentile(latencies, 50) * 1000,
        "p95_ms": common.percentile(latencies, 95) * 1000,
        "p99_ms": common.percentile(latencies, 99) * 1000,
    }


# -- where a page's time goes -------------------------------------------------------------------


def anatomy(url: str, who: dict[str, Any], repeat: int = 5) -> dict[str, dict[str, float]]:
    """Each page served in this process (Flask's test client, no HTTP), after a warm-up: the
    median of ``repeat`` requests' total time, time inside SQL statements, and statement count.
    It says whether a slow page waits on the database or on Python (ORM, templates)."""
    from sqlalchemy import event

    from timebank.extensions import db

    app = common.make_app(url)
    timings: list[float] = []
    started: list[float] = [0.0]
    with app.app_context():
        engine = db.engine

    def before(*_args: Any) -> None:
        started[0] = time.perf_counter()

    def after(*_args: Any) -> None:
        timings.append(time.perf_counter() - started[0])

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    clients: dict[str, Any] = {}
    for role, email in (("member", who["participants"][0]), ("coordinator", who["coordinator"])):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": common.PASSWORD})
        clients[role] = client
    clients["anyone"] = app.test_client()
    found: dict[str, dict[str, float]] = {}
    try:
        for page in PAGES:
            client = clients[page.who]
            client.get(page.path)
            totals, sql, counts = [], [], []
            for _ in range(repeat):
                timings.clear()
                begun = time.perf_counter()
                client.get(page.path)
                totals.append(time.perf_counter() - begun)
                sql.append(sum(timings))
                counts.append(len(timings))
            found[page.name] = {
                "app_ms": round(common.median(totals) * 1000, 1),
                "sql_ms": round(common.median(sql) * 1000, 1),
                "queries": int(common.median(counts)),
            }
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        with app.app_context():
            db.engine.dispose()
    return found


# -- the run -----------------------------------------------------------------------------------


def run(url: str, size_name: str, users: int, seconds: float, workers: int, tool: str) -> dict[str, Any]:
    generation = common.ensure_generated(url, common.size(size_name))
    who = people(url, users)
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"bench-gunicorn-{port}.log"
    print(f"Starting gunicorn ({workers} workers) on port {port} for {common.dialect_of(url)} {size_name} ...")
    server = start_gunicorn(url, port, workers, log)
    notes = []
    try:
        sessions = {
            "anyone": [],
            "member": [sign_in(port, email) for email in who["participants"]],
            "coordinator": [sign_in(port, who["coordinator"])] * 1,
        }
        # Every page must answer 200 to every session before it is timed (a redirect to the
        # sign-in page would be fast and wrong).
        measured = []
        runner = run_wrk if tool == "wrk" else run_python
        for page in PAGES:
            # The warm-up: every session requests the page once, one after another, and each
            # must answer 200 (a redirect to the sign-in page would be fast and wrong). Done in
            # turn, not under load: wrk abandons the requests in flight when it stops, and the
            # workers would still be serving them when the next measurement starts.
            for cookie in sessions[page.who] or [""]:
                status, body, _ = request(port, "GET", page.path, cookie=cookie)
                if status != 200:
                    raise SystemExit(f"{page.path} answered {status} before the run: {body[:300]}")
            result = runner(port, page, sessions[page.who], users, seconds)
            drain(port)
            result["rps"] = result["requests"] / result["seconds"]
            measured.append({"page": page.name, "path": page.path, **result})
            print(
                f"  {page.name:<24} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f}  "
                f"p95 {result['p95_ms']:7.1f}  p99 {result['p99_ms']:7.1f} ms  errors {result['errors']}",
                flush=True,
            )
    finally:
        stop(server)
    print("Where each page's time goes (one request at a time, in process) ...", flush=True)
    for row, (name, parts) in zip(measured, anatomy(url, who).items(), strict=True):
        assert row["page"] == name
        row.update(parts)
    bare = measured[0]["rps"]
    for row in measured:
        row["ratio_to_bare"] = round(row["rps"] / bare, 3)
        row["target_met"] = row["ratio_to_bare"] >= THROUGHPUT_TARGET and row["errors"] == 0
        for key in ("rps", "p50_ms", "p95_ms", "p99_ms"):
            row[key] = round(row[key], 1)
    notes.append(
        f"Signed in as the {len(who['participants'])} most active participants and the coordinator of the "
        f"largest timebank ({who['members']} members, {who['timebank_transfers']} of the transfers)."
    )
    notes.append(
        f"Load generator: {tool}; bare route /healthz (SELECT 1 through the app); "
        f"gunicorn.conf.py with WEB_CONCURRENCY={workers}, sync workers, TIMEBANK_ENV=production, "
        "no access log, no max_requests recycling."
    )
    return {
        "benchmark": "pages",
        "dialect": common.dialect_of(url),
        "size": size_name,
        "transfers": who["transfers"],
        "users": users,
        "seconds_per_page": seconds,
        "workers": workers,
        "tool": tool,
        "rows": measured,
        "notes": notes,
        "generation": generation,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10k", help=f"one of {', '.join(common.SIZES)}")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--users", type=int, default=8, help="concurrent virtual users (connections)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--tool", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    common.SAVE = not args.no_save
    url = common.data_url(args.db, args.size)
    common.ensure_generated(url, common.size(args.size))
    url, made = common.as_in_production(url)
    result = run(url, args.size, args.users, args.seconds, args.workers, args.tool)
    result["as_in_production"] = made
    result["notes"].append(
        "On a copy of the generated data as a running installation has it: the models' schema "
        f"(added since generation: {', '.join(made['schema_added']) or 'nothing'}) and every finished month "
        f"closed by the scheduler's job ({made['closing']}, {made['closing_seconds']} s: statements, checksums, "
        "month summaries)."
    )
    print(f"\nPages on {args.db}, {args.size} ({result['transfers']} transfers); target: >= {THROUGHPUT_TARGET} x bare")
    print(
        common.table(
            [
                "page",
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
                    r["page"],
                    r["rps"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["p99_ms"],
                    r["errors"],
                    r["ratio_to_bare"],
                    "-" if r is result["rows"][0] else common.verdict(r["target_met"]),
                    r["queries"],
                    r["sql_ms"],
                    r["app_ms"],
                ]
                for r in result["rows"]
            ],
        )
    )
    if not args.no_save:
        common.save_result(f"pages-{args.db}-{args.size}", result)
        common.render_report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
