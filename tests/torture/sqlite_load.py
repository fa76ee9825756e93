"""The embedded default under load: the app served on a SQLite file, as ``./scripts/run`` serves
it (``flask run``: werkzeug's threaded server) or by gunicorn with several workers, and 8
clients writing at once for a few seconds, half through the JSON API and half through the web
forms, signed in through the real sign-in form with CSRF on. Then the database is checked.

    .venv/bin/python -m tests.torture.sqlite_load --server flask --seconds 5
    .venv/bin/python -m tests.torture.sqlite_load --server gunicorn --workers 4

What it proves (each failure is a "violation"; there must be none):

- No answer is a 5xx (their bodies and the server's log are reported).
- ``flask timebank check-ledger`` passes.
- Every acknowledged write is in the database exactly once: an exchange recorded through the
  API (201) once under its Idempotency-Key, an exchange recorded through a web form (the
  redirect to its page) once under the form's request key, a listing (the redirect to its page)
  once under its title; each exchange with exactly one reservation, and one posting if it was
  approved. A double click (the same form sent twice at once) and a repeated API request (the
  same Idempotency-Key twice at once) land on the same exchange.

The clients: API clients record exchanges as their timebank's coordinator (approved at once:
the credits move) and as participants, and now and then list exchanges; web clients are a
coordinator recording paper timesheet lines for members (``/coordinator/act/<id>/record``) and
participants recording help (``/exchanges/record``) and adding offers (``/listings/new``), each
form fetched before it is sent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from tests.torture.harness import (
    PASSWORD,
    TIME_ZONE,
    Person,
    Server,
    _app,
    api_tokens,
    http_request,
    migrate_and_seed,
)

HOURS = ("0.25", "0.5", "0.75", "1")
MIN_TURNS = 3  # every client's first turns happen, even when the machine is slow


@dataclass
class LoadSettings:
    server: str = "flask"  # or "gunicorn"
    workers: int = 4  # gunicorn only
    clients: int = 8  # even numbers use the API, odd ones the web forms
    seconds: float = 5.0
    members: int = 16
    seed: int | None = None


@dataclass(frozen=True)
class Write:
    """An acknowledged write and how to find it: ``marker`` is the API's Idempotency-Key, the
    form's request key or the listing's title."""

    kind: str  # api_record, web_record, web_listing
    member_id: int
    marker: str
    id: int


@dataclass
class LoadReport:
    settings: LoadSettings
    seed: int = 0
    elapsed: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    posts: int = 0  # answers to POSTs (writes tried), whatever they said
    latencies: list[float] = field(default_factory=list)  # seconds, every answer to a POST
    refusals: Counter[str] = field(default_factory=Counter)  # 4xx answers to writes, by what they said
    acknowledged: Counter[str] = field(default_factory=Counter)
    double_sends: int = 0
    writes: list[Write] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    ledger_summary: str = ""
    server_log: str = ""

    def latency_text(self) -> str:
        if not self.latencies:
            return "-"
        ordered = sorted(self.latencies)
        return (
            f"p50 {ordered[len(ordered) // 2] * 1000:.0f} ms, p95 {ordered[int(len(ordered) * 0.95)] * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms"
        )

    def text(self) -> str:
        s = self.settings
        lines = [
            f"SQLite under load: {s.server}"
            + (f" with {s.workers} workers" if s.server == "gunicorn" else " (werkzeug, threaded)")
            + f", {s.clients} clients, seed {self.seed}, {self.elapsed:.1f} s",
            "  answers            " + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())),
            "  refused writes     " + (", ".join(f"{k}: {v}" for k, v in self.refusals.most_common()) or "none"),
            f"  acknowledged       {sum(self.acknowledged.values())}"
            + "".join(f"\n    {kind:<20}{n:>6}" for kind, n in sorted(self.acknowledged.items())),
            f"  sent twice at once {self.double_sends}",
            f"  writes tried       {self.posts} ({self.posts / max(self.elapsed, 0.001):.1f} a second; "
            f"{sum(self.acknowledged.values()) / max(self.elapsed, 0.001):.1f} acknowledged a second), "
            f"answered in {self.latency_text()}",
            f"  ledger             {self.ledger_summary}",
            f"  5xx answers        {len(self.server_errors)}",
            f"  VIOLATIONS         {len(self.violations)}",
        ]
        lines += [f"    - {v}" for v in self.violations[:40]]
        if self.server_errors:
            lines += [f"    5xx: {e}" for e in self.server_errors[:10]]
            lines.append("  server log (tail):")
            lines += [f"    | {line}" for line in self.server_log.splitlines()]
        return "\n".join(lines)


# -- a client with cookies (the web forms) --------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_CATEGORY = re.compile(r'<option[^>]*value="(\d+)"')


class Browser:
    """Just enough of a browser: a cookie jar, forms sent as a browser sends them."""

    def __init__(self, port: int, on_answer: Any) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.on_answer = on_answer
        self.lock = threading.Lock()

    def send(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        headers = {"Accept": "text/html"}
        with self.lock:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        status, data, answer_headers = http_request(self.port, method, path, body=body, headers=headers, timeout=60)
        seconds = time.monotonic() - started
        cookie = answer_headers.get("set-cookie")
        if cookie:
            with self.lock:
                for name, morsel in SimpleCookie(cookie).items():
                    self.cookies[name] = morsel.value
        text = data.decode("utf-8", "replace")
        self.on_answer(method, path, status, text, seconds)
        return status, text, answer_headers

    def form_token(self, path: str) -> tuple[str, str]:
        status, page, _headers = self.send("GET", path)
        found = _CSRF.search(page)
        if status != 200 or found is None:
            raise RuntimeError(f"GET {path}: {status}, no form")
        return found.group(1), page

    def sign_in(self, email: str) -> None:
        token, _page = self.form_token("/login")
        status, page, _headers = self.send(
            "POST", "/login", {"csrf_token": token, "email": email, "password": PASSWORD}
        )
        if status not in (302, 303):
            raise RuntimeError(f"sign in as {email}: {status} {page[:300]}")


def _redirected_id(headers: dict[str, str], prefix: str) -> int | None:
    path = urlsplit(headers.get("location", "")).path
    if path.startswith(prefix) and path[len(prefix) :].isdigit():
        return int(path[len(prefix) :])
    return None


# -- the load ---------------------------------------------------------------------------------------


class Load:
    def __init__(self, settings: LoadSettings, people: list[Person], accounts: dict[int, int], server: Server,
                 report: LoadReport) -> None:
        self.settings = settings
        self.people = people
        self.accounts = accounts  # member id -> account id
        self.server = server
        self.report = report
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.tokens: dict[int, str] = {}
        self.turns = [0] * settings.clients

    def next_turn(self, number: int) -> int:
        """This client's turn, counted from 0: its first turns always do each kind of write (a
        listing first, then something sent twice at once), however slow the machine is."""
        with self.lock:
            turn = self.turns[number]
            self.turns[number] += 1
        return turn

    # -- plumbing --

    def answered(self, method: str, path: str, status: int, body: str, seconds: float) -> None:
        with self.lock:
            self.report.statuses[status] += 1
            if method == "POST":
                self.report.posts += 1
                self.report.latencies.append(seconds)
            if status >= 500:
                self.report.server_errors.append(f"{status} {method} {path}: {body[:300]!r}")
                self.report.violations.append(f"{status} on {method} {path}")

    def refused(self, why: str) -> None:
        with self.lock:
            self.report.refusals[why] += 1

    def acknowledge(self, write: Write) -> None:
        with self.lock:
            self.report.writes.append(write)
            self.report.acknowledged[write.kind] += 1

    def violation(self, text: str) -> None:
        with self.lock:
            self.report.violations.append(text)

    def in_timebank(self, timebank: int) -> tuple[Person, list[Person]]:
        coordinator = next(p for p in self.people if p.timebank == timebank and p.coordinator)
        return coordinator, [p for p in self.people if p.timebank == timebank and not p.coordinator]

    def day(self, rng: random.Random) -> str:
        today = datetime.now(ZoneInfo(TIME_ZONE)).date()
        return (today - timedelta(days=rng.randint(1, 6))).isoformat()

    def at_once(self, send: Any, twice: bool) -> list[Any]:
        """``send()``, or twice at the same moment (a double click, a repeated request)."""
        if not twice:
            return [send()]
        answers: list[Any] = []
        threads = [threading.Thread(target=lambda: answers.append(send())) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self.lock:
            self.report.double_sends += 1
        return answers

    # -- API clients --

    def api(self, member: Person, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[member.member_id]}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        started = time.monotonic()
        status, answer, _headers = http_request(self.server.port, method, path, body=data, headers=headers, timeout=60)
        text = answer.decode("utf-8", "replace")
        self.answered(method, path, status, text, time.monotonic() - started)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, None

    def api_client(self, number: int) -> None:
        rng = random.Random(self.report.seed * 100 + number)
        coordinator, members = self.in_timebank(number // 2 % 2)
        while not self.stop.is_set():
            turn = self.next_turn(number)
            if turn > 1 and rng.random() < 0.15:
                self.api(coordinator, "GET", "/api/v1/exchanges?per_page=5")
                continue
            a, b = rng.sample(members, 2)
            actor = coordinator if rng.random() < 0.7 else a
            body = {
                "provider_id": a.member_id,
                "recipient_id": b.member_id,
                "hours": float(rng.choice(HOURS)),
                "performed_on": self.day(rng),
                "description": f"API load {uuid.uuid4().hex[:8]}",
            }
            key = str(uuid.uuid4())
            answers = self.at_once(
                lambda actor=actor, body=body, key=key: self.api(actor, "POST", "/api/v1/exchanges", body, key),
                twice=turn == 1 or rng.random() < 0.1,
            )
            made = {data["id"] for status, data in answers if status == 201}
            if len(made) > 1:
                self.violation(f"the same Idempotency-Key {key} made exchanges {sorted(made)}")
            if made:
                self.acknowledge(Write("api_record", actor.member_id, key, made.pop()))
            for status, data in answers:
                if status != 201:
                    code = data["error"]["code"] if isinstance(data, dict) and "error" in data else "?"
                    self.refused(f"API {status} {code}")

    # -- web clients --

    def web_client(self, number: int) -> None:
        rng = random.Random(self.report.seed * 100 + number)
        coordinator, members = self.in_timebank(number // 2 % 2)
        acting = number % 4 == 1  # half the web clients are the coordinator, half a participant
        me = coordinator if acting else members[number % len(members)]
        browser = Browser(self.server.port, self.answered)
        browser.sign_in(me.email)
        others = [m for m in members if m != me]
        while not self.stop.is_set():
            turn = self.next_turn(number)
            twice = turn == 1 or rng.random() < 0.1
            if acting:
                self.web_act_record(browser, rng, coordinator, members, twice)
            elif turn == 0 or rng.random() < 0.3:
                self.web_listing(browser, rng, me)
            else:
                self.web_record(browser, rng, me, rng.choice(others), twice)

    def web_act_record(
        self, browser: Browser, rng: random.Random, coordinator: Person, members: list[Person], twice: bool
    ) -> None:
        member, other = rng.sample(members, 2)
        path = f"/coordinator/act/{member.member_id}/record"
        token, _page = browser.form_token(path)
        key = f"web-{uuid.uuid4()}"
        form = {
            "csrf_token": token,
            "request_key": key,
            "other_account": str(self.accounts[other.member_id]),
            "direction": rng.choice(("member_helped", "member_was_helped")),
            "performed_on": self.day(rng),
            "duration": rng.choice(HOURS),
            "description": f"Timesheet line {uuid.uuid4().hex[:8]}",
            "answers": "confirmed",  # the check page's "Record the time", as a person presses it
        }
        self.web_exchange(browser, coordinator, path, form, key, twice)

    def web_record(self, browser: Browser, rng: random.Random, me: Person, other: Person, twice: bool) -> None:
        path = "/exchanges/record"
        token, _page = browser.form_token(path)
        key = f"web-{uuid.uuid4()}"
        form = {
            "csrf_token": token,
            "request_key": key,
            "other_member": str(other.member_id),
            "direction": rng.choice(("i_helped", "they_helped")),
            "performed_on": self.day(rng),
            "duration": rng.choice(HOURS),
            "description": f"Helped {uuid.uuid4().hex[:8]}",
            "answers": "confirmed",  # the check page's "Record the time", as a person presses it
        }
        self.web_exchange(browser, me, path, form, key, twice)

    def web_exchange(
        self, browser: Browser, actor: Person, path: str, form: dict[str, str], key: str, twice: bool
    ) -> None:
        answers = self.at_once(lambda: browser.send("POST", path, form), twice=twice)
        made = {_redirected_id(headers, "/exchanges/") for status, _page, headers in answers if status in (302, 303)}
        made.discard(None)
        if len(made) > 1:
            self.violation(f"the same form (request key {key}) made exchanges {sorted(made)}")  # type: ignore[type-var]
        if made:
            exchange_id = made.pop()
            assert exchange_id is not None
            self.acknowledge(Write("web_record", actor.member_id, key, exchange_id))
        for status, _page, _headers in answers:
            if status not in (302, 303):
                self.refused(f"web {status}")

    def web_listing(self, browser: Browser, rng: random.Random, me: Person) -> None:
        token, page = browser.form_token("/listings/new")
        category = _CATEGORY.search(page)
        title = f"Load offer {uuid.uuid4().hex[:10]}"
        form = {
            "csrf_token": token,
            "kind": "offer",
            "category_id": category.group(1) if category else "",
            "title": title,
            "description": "Made under load.",
            "hours": rng.choice(HOURS),
        }
        status, _answer, headers = browser.send("POST", "/listings/new", form)
        listing_id = _redirected_id(headers, "/listings/") if status in (302, 303) else None
        if listing_id is not None:
            self.acknowledge(Write("web_listing", me.member_id, title, listing_id))
        else:
            self.refused(f"web {status}")

    # -- running --

    def run(self) -> None:
        self.tokens = api_tokens(self.server.port, self.people, "load")
        errors: list[str] = []

        def guarded(target: Any, number: int) -> None:
            try:
                target(number)
            except Exception as error:  # a client that cannot go on (e.g. it could not sign in)
                errors.append(f"client {number}: {type(error).__name__}: {error}")
                self.stop.set()

        threads = [
            threading.Thread(target=guarded, args=(self.api_client if n % 2 == 0 else self.web_client, n))
            for n in range(self.settings.clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        self.stop.wait(self.settings.seconds)
        # On a slow machine, go on until every client has had its first turns (bounded).
        while min(self.turns) < MIN_TURNS and time.monotonic() - started < self.settings.seconds + 120:
            if self.stop.wait(0.2):
                break
        self.stop.set()
        for thread in threads:
            thread.join()
        self.report.elapsed = time.monotonic() - started
        for error in errors:
            self.violation(error)


# -- checking ---------------------------------------------------------------------------------------


def verify(database_url: str, database_file: Path, report: LoadReport) -> None:
    app = _app(database_url)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["timebank", "check-ledger"])
        report.ledger_summary = result.output.strip().splitlines()[-1] if result.output.strip() else "(no output)"
        if result.exit_code != 0:
            report.violations.append(f"check-ledger failed ({result.exit_code}): {result.output[-2000:]}")
    connection = sqlite3.connect(database_file)
    try:
        for write in report.writes:
            where = f"acknowledged {write.kind} {write.marker} (id {write.id})"
            if write.kind == "web_listing":
                ids = [r[0] for r in connection.execute("SELECT id FROM listings WHERE title = ?", (write.marker,))]
                if ids != [write.id]:
                    report.violations.append(f"{where}: listings with its title: {ids}")
                continue
            request_key = write.marker
            if write.kind == "api_record":
                request_key = f"api-{write.member_id}-" + hashlib.sha256(write.marker.encode()).hexdigest()
            rows = connection.execute(
                "SELECT id, status, pending_transfer_id FROM exchanges WHERE request_key = ?", (request_key,)
            ).fetchall()
            if [r[0] for r in rows] != [write.id]:
                report.violations.append(f"{where}: exchanges with its key: {[r[0] for r in rows]}")
                continue
            _id, status, pending_id = rows[0]
            reserves = connection.execute(
                "SELECT count(*) FROM transfers WHERE idempotency_key = ?", (f"exchange-{write.id}-reserve",)
            ).fetchone()[0]
            posts = connection.execute(
                "SELECT count(*) FROM transfers WHERE pending_id = ? AND phase = 'post'", (pending_id,)
            ).fetchone()[0]
            if reserves != 1:
                report.violations.append(f"{where}: {reserves} reservations")
            if status == "approved" and posts != 1:
                report.violations.append(f"{where}: approved with {posts} postings")
    finally:
        connection.close()


def _accounts(database_file: Path) -> dict[int, int]:
    connection = sqlite3.connect(database_file)
    try:
        return {m: a for a, m in connection.execute("SELECT id, member_id FROM accounts WHERE member_id IS NOT NULL")}
    finally:
        connection.close()


def run_load(settings: LoadSettings) -> LoadReport:
    seed = settings.seed if settings.seed is not None else random.randrange(10**6)
    report = LoadReport(settings=settings, seed=seed)
    with tempfile.TemporaryDirectory(prefix="sqlite-load-") as folder:
        database_file = Path(folder) / "timebank.sqlite"
        database_url = f"sqlite:///{database_file}"
        people = migrate_and_seed(database_url, settings.members)
        server = Server(database_url, settings.workers, Path(folder) / "server.log", server=settings.server)
        try:
            server.wait_ready()
            Load(settings, people, _accounts(database_file), server, report).run()
        finally:
            report.server_log = server.log_tail(120)
            server.stop()
        verify(database_url, database_file, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests.torture.sqlite_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=("flask", "gunicorn"), default="flask")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    report = run_load(
        LoadSettings(server=args.server, workers=args.workers, clients=args.clients, seconds=args.seconds,
                     seed=args.seed)
    )
    print(report.text())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
