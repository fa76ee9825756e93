"""The ledger torture test: gunicorn workers on a fresh PostgreSQL database (or, with
``--database sqlite``, a fresh SQLite file: the embedded default), many HTTP clients doing random
exchange steps and donations through the JSON API with Idempotency-Keys and retries, while a
killer thread SIGKILLs a random worker every few seconds. Then the ledger is checked from the
database, and every acknowledged (2xx) operation is looked for in it.

    .venv/bin/python -m tests.torture.harness --seconds 30       # or scripts/torture
    .venv/bin/python -m tests.torture.harness --database sqlite --seconds 15 --clients 8 --workers 2

What it proves (each failure is a "violation"; there must be none):

- ``flask timebank check-ledger`` passes: every account's cached totals equal the transfers.
- Σ credits − Σ debits = 0, posted and pending, per timebank.
- No account is past its floor or cap, counting pending reservations pessimistically.
- Every operation that got a 2xx is in the ledger exactly once: a recorded exchange once, with
  its one reservation (and its one posting when a coordinator recorded it); an approval one
  POST row, a rejection one VOID row, a reversal one REVERSAL transfer, a donation one DONATION
  transfer under that key. Every exchange's state agrees with its transfers.
- Every retry of an acknowledged key (at once, later from another client, after a connection
  error, and all of them once more at the end) returned the original status and body, byte for
  byte; the stored idempotency record holds that same answer.
- A request interrupted (its worker killed, or the client timed out) and retried got a 2xx or
  its first answer, never a 409 for its own effect: every effect in the ledger (an exchange, its
  approval, rejection or reversal, a donation) has a stored 2xx answer that names it (the answer
  commits with the effect), and no interrupted request whose retry was refused has a stored 2xx
  answer under its key.
- No 5xx, ever (their bodies are reported).

Connection errors and timeouts are always retried with the same key and body until there is an
answer (a client cannot know whether the request went through). A key whose request died with
its worker is free again as soon as PostgreSQL sees the worker's connection close (the request
held an advisory lock on it, timebank/api/idempotency.py), so the retry takes it over (on SQLite
only after five minutes). An operation still "in progress" after IN_PROGRESS_RETRY_SECONDS is
counted as unresolved, not a violation, and the ledger checks still cover it.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "torture test password 1"
TIME_ZONE = "Europe/London"
HOURS = (0.25, 0.5, 0.75, 1, 1, 1.5, 2, 3)
IN_PROGRESS_RETRY_SECONDS = 5.0  # how long a client keeps asking about a key still "in progress"


# -- settings and results -----------------------------------------------------------------------


@dataclass
class Settings:
    seconds: float = 30.0
    clients: int = 16
    workers: int = 4
    kill_every: float = 3.0  # 0: never kill
    members: int = 24  # participants, shared between the two timebanks
    seed: int | None = None
    admin_url: str = ""  # libpq URL of a database where CREATE DATABASE may run
    keep_database: bool = False
    progress: bool = False
    database: str = "postgresql"  # or "sqlite": a fresh file in a temporary folder


@dataclass
class Report:
    settings: Settings
    database: str = ""
    seed: int = 0
    elapsed: float = 0.0
    operations: Counter[str] = field(default_factory=Counter)  # new operations by kind
    outcomes: Counter[str] = field(default_factory=Counter)  # first answers: "2xx", "4xx <code>", ...
    statuses: Counter[str] = field(default_factory=Counter)  # every HTTP answer by class
    connection_errors: int = 0
    retries: Counter[str] = field(default_factory=Counter)  # by reason
    replays_matched: int = 0
    acknowledged: Counter[str] = field(default_factory=Counter)  # by kind
    unresolved: int = 0  # answered only "in progress" (worker killed mid-request)
    interrupted: Counter[str] = field(default_factory=Counter)  # interrupted operations by their final answer
    recovered: int = 0  # acknowledged only by a retry after a connection error
    kills: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, every answered request
    violations: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # 5xx bodies
    ledger_summary: str = ""
    server_log: str = ""  # the tail of gunicorn's log (tracebacks of any 5xx)
    exchanges: int = 0
    transfers: int = 0

    @property
    def total_operations(self) -> int:
        return sum(self.operations.values())

    @property
    def total_retries(self) -> int:
        return sum(self.retries.values())

    def latency_text(self) -> str:
        if not self.latencies:
            return "-"
        ordered = sorted(self.latencies)

        def at(fraction: float) -> float:
            return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

        return f"p50 {at(0.5):.0f} ms, p95 {at(0.95):.0f} ms, max {ordered[-1] * 1000:.0f} ms ({len(ordered)} answers)"

    def text(self) -> str:
        s = self.settings
        lines = [
            "Ledger torture test",
            f"  database {self.database}, seed {self.seed}: {s.clients} clients, {s.workers} gunicorn workers, "
            f"kill every {s.kill_every:g} s, {s.members} members, {self.elapsed:.1f} s of load",
            f"  operations         {self.total_operations}"
            + "".join(f"\n    {kind:<22}{n:>7}" for kind, n in sorted(self.operations.items())),
            "  first answers      "
            + ", ".join(f"{name}: {n}" for name, n in sorted(self.outcomes.items(), key=lambda kv: -kv[1])),
            "  all HTTP answers   "
            + ", ".join(f"{name}: {n}" for name, n in sorted(self.statuses.items())),
            f"  acknowledged (2xx) {sum(self.acknowledged.values())}"
            + "".join(f"\n    {kind:<22}{n:>7}" for kind, n in sorted(self.acknowledged.items())),
            f"  answer time        {self.latency_text()}",
            f"  connection errors  {self.connection_errors}",
            f"  retries            {self.total_retries}"
            + "".join(f"\n    {why:<22}{n:>7}" for why, n in sorted(self.retries.items())),
            f"  replays matched    {self.replays_matched}",
            f"  acknowledged only after a connection error (recovered): {self.recovered}",
            "  interrupted, then  "
            + (", ".join(f"{name}: {n}" for name, n in sorted(self.interrupted.items())) or "-"),
            f"  unresolved (still in progress after a kill): {self.unresolved}",
            f"  workers killed     {self.kills}",
            f"  ledger             {self.exchanges} exchanges, {self.transfers} transfers; {self.ledger_summary}",
            f"  5xx answers        {len(self.server_errors)}",
            f"  VIOLATIONS         {len(self.violations)}",
        ]
        lines += [f"    - {v}" for v in self.violations[:50]]
        if len(self.violations) > 50:
            lines.append(f"    ... and {len(self.violations) - 50} more")
        if self.server_errors:
            lines.append("  gunicorn's log (tail):")
            lines += [f"    | {line}" for line in self.server_log.splitlines()]
        return "\n".join(lines)


# -- the database ---------------------------------------------------------------------------------


def default_admin_url() -> str:
    given = os.environ.get("TIMEBANK_TEST_POSTGRES_ADMIN_URL")
    if given:
        return given
    test_url = os.environ.get("TIMEBANK_TEST_POSTGRES_URL")
    if test_url:
        return make_url(test_url).set(database="postgres").render_as_string(hide_password=False)
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database(admin_url: str, *, keep: bool = False) -> Iterator[str]:
    """A new empty database beside the admin one (``tb_torture_<hex>``), dropped afterwards."""
    name = f"tb_torture_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        if not keep:
            with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
                connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def fresh_database_for(settings: Settings, folder: Path) -> Iterator[str]:
    """A new empty database of the kind the settings ask for."""
    if settings.database == "sqlite":
        yield f"sqlite:///{folder / 'torture.sqlite'}"
        return
    with fresh_database(settings.admin_url or default_admin_url(), keep=settings.keep_database) as url:
        yield url


def _app(database_url: str) -> Any:
    from timebank import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "torture", "SQLALCHEMY_DATABASE_URI": database_url})


@dataclass(frozen=True)
class Person:
    member_id: int
    email: str
    timebank: int  # index: 0 or 1
    coordinator: bool


def migrate_and_seed(database_url: str, members: int) -> list[Person]:
    """``flask db upgrade``, then two timebanks with small limits (floor −2 h, cap 4 h, 15-minute
    steps): Riverside's coordinator approves every exchange, Elm Park's are approved once both
    sides agree. A coordinator each, and the participants split between them."""
    from flask_migrate import upgrade

    from timebank.extensions import db
    from timebank.members.service import create_member
    from timebank.models import ApprovalPolicy, MemberStatus, Role
    from timebank.timebanks.service import create_timebank

    app = _app(database_url)
    people: list[Person] = []
    with app.app_context():
        upgrade(directory=str(REPO_ROOT / "migrations"))
        session = db.session()
        for index, (name, policy) in enumerate(
            [("Torture Riverside", ApprovalPolicy.ALWAYS), ("Torture Elm Park", ApprovalPolicy.NEVER)]
        ):
            timebank = create_timebank(
                session,
                name=name,
                organisation_name=f"{name} Day Service",
                granularity_minutes=15,
                default_floor_minutes=-120,
                default_cap_minutes=240,
                approval_policy=policy,
                time_zone=TIME_ZONE,
            )
            count = members // 2 + (members % 2 if index == 0 else 0)
            for number in range(count + 1):
                coordinator = number == 0
                email = f"{'coordinator' if coordinator else f'member{number}'}.{index}@torture.example"
                member = create_member(
                    session,
                    timebank=timebank,
                    display_name=f"{'Coordinator' if coordinator else 'Member'} {index}-{number}",
                    email=email,
                    role=Role.COORDINATOR if coordinator else Role.PARTICIPANT,
                    status=MemberStatus.APPROVED,
                    password=PASSWORD,
                )
                session.flush()
                people.append(Person(member.id, email, index, coordinator))
        session.commit()
        db.session.remove()
        db.engine.dispose()
    return people


# -- gunicorn -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """gunicorn -c gunicorn.conf.py wsgi:app, as production runs it, on a free local port; or
    (``server="flask"``) ``flask run``, as ./scripts/run serves the demo: werkzeug's threaded
    server in one process (no workers to kill)."""

    def __init__(self, database_url: str, workers: int, log_path: Path, *, server: str = "gunicorn") -> None:
        self.port = _free_port()
        env = {key: value for key, value in os.environ.items() if key not in ("TIMEBANK_ENV", "FLASK_DEBUG")}
        env.update(
            {
                "TIMEBANK_BIND": f"127.0.0.1:{self.port}",
                "WEB_CONCURRENCY": str(workers),
                "DATABASE_URL": database_url,
                "RATELIMIT_ENABLED": "0",
                "SECRET_KEY": "torture-" + secrets.token_hex(8),
                "TIMEBANK_LOG_LEVEL": "warning",
                "MAIL_SERVER": "",
            }
        )
        self.log_path = log_path
        self._log = log_path.open("wb")
        if server == "flask":
            env["FLASK_APP"] = "wsgi"
            command = [sys.executable, "-m", "flask", "run", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            gunicorn = Path(sys.executable).with_name("gunicorn")
            command = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
            command += ["-c", "gunicorn.conf.py", "--access-logfile", "/dev/null", "wsgi:app"]
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}): {self.log_tail()}")
            try:
                status, _body, _headers = http_request(self.port, "GET", "/healthz", timeout=2.0)
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:g} s: {self.log_tail()}")

    def workers(self) -> list[int]:
        """The master's live children (its workers), from /proc."""
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("PPid:"):
                    if int(line.split()[1]) == self.process.pid:
                        state = next((s for s in status.splitlines() if s.startswith("State:")), "")
                        if " Z " not in state and "zombie" not in state:
                            children.append(int(entry))
                    break
        return children

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


Answer = tuple[int, bytes, dict[str, str]]  # status, body, headers (lower-case names)


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, data, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def api_tokens(port: int, people: list[Person], name: str) -> dict[int, str]:
    """A bearer token for each person (member id -> token), through ``POST /api/v1/tokens``."""
    tokens = {}
    for person in people:
        body = _json({"email": person.email, "password": PASSWORD, "name": name})
        status, data, _headers = http_request(
            port, "POST", "/api/v1/tokens", body=body, headers={"Content-Type": "application/json"}
        )
        if status != 201:
            raise RuntimeError(f"no token for {person.email}: {status} {data[:300]!r}")
        tokens[person.member_id] = json.loads(data)["token"]
    return tokens


# -- operations -----------------------------------------------------------------------------------


@dataclass
class Operation:
    kind: str  # record, record_for, confirm, approve, reject, reverse, donate
    actor: Person
    path: str
    body: bytes
    key: str
    exchange_id: int | None = None
    interruptions: int = 0  # connection errors and timeouts before its answer


@dataclass
class Acknowledged:
    operation: Operation
    status: int
    body: bytes
    data: dict[str, Any]


@dataclass
class Known:
    """What the clients know of an exchange (from answers; may be stale, which is the point)."""

    id: int
    timebank: int
    provider: int
    recipient: int
    recorded_by: int | None
    status: str
    stage: str


class Torture:
    def __init__(self, settings: Settings, people: list[Person], server: Server, report: Report) -> None:
        self.settings = settings
        self.server = server
        self.report = report
        self.rng = random.Random(report.seed)
        self.people = people
        self.participants = [[p for p in people if p.timebank == t and not p.coordinator] for t in (0, 1)]
        self.coordinators = [[p for p in people if p.timebank == t and p.coordinator] for t in (0, 1)]
        self.tokens: dict[int, str] = {}
        self.lock = threading.Lock()
        self.exchanges: dict[int, Known] = {}
        self.acknowledged: list[Acknowledged] = []
        self.interrupted_refusals: list[tuple[Operation, int, str]] = []  # (operation, status, code)
        self.later: list[tuple[float, int, Acknowledged]] = []  # retries due later (heap)
        self.sequence = 0
        self.stop_load = threading.Event()
        self.stop_killer = threading.Event()

    # -- plumbing --

    def count(self, counter: str, key: str, n: int = 1) -> None:
        with self.lock:
            getattr(self.report, counter)[key] += n

    def violation(self, text: str) -> None:
        with self.lock:
            self.report.violations.append(text)

    def send(self, operation: Operation, rng: random.Random, *, short_timeout: bool = False) -> Answer:
        headers = {
            "Authorization": f"Bearer {self.tokens[operation.actor.member_id]}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": operation.key,
        }
        # Now and then a client gives up very early while the server carries on: a timeout.
        timeout = rng.uniform(0.01, 0.15) if short_timeout else 20.0
        started = time.monotonic()
        status, body, response_headers = http_request(
            self.server.port, "POST", operation.path, body=operation.body, headers=headers, timeout=timeout
        )
        with self.lock:
            self.report.latencies.append(time.monotonic() - started)
        self.count("statuses", f"{status // 100}xx")
        if status >= 500:
            with self.lock:
                self.report.server_errors.append(f"{status} {operation.kind} {operation.path}: {body[:500]!r}")
                self.report.violations.append(f"{status} on {operation.kind} {operation.path}: {body[:300]!r}")
        return status, body, response_headers

    def until_answered(self, operation: Operation, rng: random.Random, *, first: bool) -> Answer | None:
        """Send until there is an answer that is not "in progress": a connection error or a
        timeout is always retried with the same key and body. None: still in progress at the end."""
        short = first and rng.random() < 0.04
        errors = 0
        in_progress_since: float | None = None
        while True:
            try:
                status, body, headers = self.send(operation, rng, short_timeout=short)
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.report.connection_errors += 1
                    self.report.retries["after a connection error"] += 1
                    operation.interruptions += 1
                errors += 1
                short = False
                time.sleep(min(0.05 * errors, 1.0) * rng.uniform(0.5, 1.5))
                continue
            if status == 409 and _code(body) == "idempotency_in_progress":
                now = time.monotonic()
                in_progress_since = in_progress_since or now
                if now - in_progress_since > IN_PROGRESS_RETRY_SECONDS or self.stop_load.is_set():
                    return None
                self.count("retries", "while in progress")
                time.sleep(rng.uniform(0.05, 0.3))
                continue
            if errors and 200 <= status < 300:
                with self.lock:
                    self.report.recovered += 1
            return status, body, headers

    def check_replay(self, ack: Acknowledged, answer: Answer | None, why: str) -> None:
        if answer is None:
            self.violation(f"retry ({why}) of acknowledged {ack.operation.kind} {ack.operation.key}: still in progress")
            return
        status, body, headers = answer
        if status == ack.status and body == ack.body:
            with self.lock:
                self.report.replays_matched += 1
            if headers.get("idempotent-replayed") != "true":
                self.violation(f"retry ({why}) of {ack.operation.kind} {ack.operation.key}: no Idempotent-Replayed")
            return
        self.violation(
            f"retry ({why}) of acknowledged {ack.operation.kind} {ack.operation.path} key {ack.operation.key}: "
            f"first {ack.status} {ack.body[:200]!r}, then {status} {body[:200]!r}"
        )

    # -- choosing work --

    def new_key(self) -> str:
        return str(uuid.uuid4())

    def choose(self, rng: random.Random) -> Operation | None:
        kind = rng.choices(
            ["record", "record_for", "confirm", "approve", "reject", "reverse", "donate"],
            weights=[30, 8, 18, 12, 5, 7, 4],
        )[0]
        timebank = rng.randrange(2)
        coordinator = self.coordinators[timebank][0]
        members = self.participants[timebank]
        if kind in ("record", "record_for"):
            a, b = rng.sample(members, 2)
            provider, recipient = (a, b) if rng.random() < 0.5 else (b, a)
            today = datetime.now(ZoneInfo(TIME_ZONE)).date()
            body = {
                "provider_id": provider.member_id,
                "recipient_id": recipient.member_id,
                "hours": rng.choice(HOURS),
                "performed_on": (today - timedelta(days=rng.randint(1, 6))).isoformat(),
                "description": f"Torture {rng.randrange(10**6)}",
            }
            actor = a if kind == "record" else coordinator
            return Operation(kind, actor, "/api/v1/exchanges", _json(body), self.new_key())
        if kind == "donate":
            # Small and not too often: the pool never gives back here, so donations drain the members.
            body = {"hours": rng.choice((0.25, 0.25, 0.5)), "note": "For the pool"}
            return Operation(kind, rng.choice(members), "/api/v1/donations", _json(body), self.new_key())
        wanted = {"confirm": ("pending",), "approve": ("pending",), "reject": ("pending",), "reverse": ("approved",)}
        with self.lock:
            known = [x for x in self.exchanges.values() if x.timebank == timebank]
        if not known:
            return None
        fitting = [x for x in known if x.status in wanted[kind]]
        if kind == "confirm":
            fitting = [x for x in fitting if x.stage == "recorded"]
        # Mostly something that fits as far as this client knows; sometimes anything (stale: 409).
        exchange = rng.choice(fitting if fitting and rng.random() < 0.85 else known)
        if kind == "confirm":
            others = [m for m in (exchange.provider, exchange.recipient) if m != exchange.recorded_by]
            member_id = rng.choice(others or [exchange.provider])
            actor = next(p for p in self.people if p.member_id == member_id)
            body_json: dict[str, Any] | None = None
        else:
            actor = coordinator
            # Approving time not confirmed yet needs a reason (issue 12): always give one.
            body_json = {"reason": f"Torture says {kind}"} if kind in ("approve", "reject", "reverse") else None
        path = f"/api/v1/exchanges/{exchange.id}/{kind}"
        return Operation(kind, actor, path, _json(body_json) if body_json else b"", self.new_key(), exchange.id)

    def learn(self, data: dict[str, Any]) -> None:
        if "provider" not in data:
            return
        with self.lock:
            self.exchanges[data["id"]] = Known(
                id=data["id"],
                timebank=next(p.timebank for p in self.people if p.member_id == data["provider"]["member_id"]),
                provider=data["provider"]["member_id"],
                recipient=data["recipient"]["member_id"],
                recorded_by=data.get("recorded_by_id"),
                status=data["status"],
                stage=data["stage"],
            )

    # -- the clients --

    def perform(self, operation: Operation, rng: random.Random) -> None:
        self.count("operations", operation.kind)
        # Now and then the same request goes out twice at the same moment (a double click, or a
        # proxy retrying): one claims the key, the other waits and gets the same answer.
        twin_answers: list[Answer | None] = []
        twin: threading.Thread | None = None
        if rng.random() < 0.05:
            twin_rng = random.Random(rng.random())
            twin = threading.Thread(
                target=lambda: twin_answers.append(self.until_answered(operation, twin_rng, first=False))
            )
            self.count("retries", "concurrent twin")
            twin.start()
        answer = self.until_answered(operation, rng, first=True)
        if twin is not None:
            twin.join()
        answers = [a for a in (answer, *twin_answers) if a is not None]
        if not answers:
            with self.lock:
                self.report.unresolved += 1
            return
        acked = [a for a in answers if 200 <= a[0] < 300]
        if operation.interruptions:
            final = acked[0] if acked else answers[0]
            self.count("interrupted", "2xx" if acked else f"{final[0]} {_code(final[1])}")
            if not acked:
                with self.lock:
                    self.interrupted_refusals.append((operation, final[0], _code(final[1])))
        if len(acked) == 2:
            # Both 2xx: one was the original, the other its replay, byte for byte.
            if acked[0][:2] == acked[1][:2]:
                with self.lock:
                    self.report.replays_matched += 1
            else:
                self.violation(
                    f"concurrent twins of {operation.kind} {operation.path} key {operation.key} answered "
                    f"{acked[0][0]} {acked[0][1][:200]!r} and {acked[1][0]} {acked[1][1][:200]!r}"
                )
        if acked:
            status, body, _headers = acked[0]
            self.count("outcomes", "2xx")
            ack = self.acknowledge(operation, status, body)
            roll = rng.random()
            if roll < 0.2:
                self.count("retries", "at once")
                self.check_replay(ack, self.until_answered(operation, rng, first=False), "at once")
            elif roll < 0.35:
                with self.lock:
                    self.sequence += 1
                    heapq.heappush(self.later, (time.monotonic() + rng.uniform(0.2, 8.0), self.sequence, ack))
            return
        status, body, _headers = answers[0]
        self.count("outcomes", f"{status} {_code(body)}")
        if status < 500 and rng.random() < 0.1:
            # The same request again with the same key: a refused request released its key, so
            # this is a new attempt (it may now succeed); never a 5xx.
            self.count("retries", "after a refusal")
            again = self.until_answered(operation, rng, first=False)
            if again is not None and 200 <= again[0] < 300:
                self.acknowledge(operation, again[0], again[1])

    def acknowledge(self, operation: Operation, status: int, body: bytes) -> Acknowledged:
        data = json.loads(body)
        ack = Acknowledged(operation, status, body, data)
        with self.lock:
            self.acknowledged.append(ack)
            self.report.acknowledged[operation.kind] += 1
        self.learn(data)
        return ack

    def due_retry(self) -> Acknowledged | None:
        with self.lock:
            if self.later and self.later[0][0] <= time.monotonic():
                return heapq.heappop(self.later)[2]
        return None

    def client(self, number: int) -> None:
        rng = random.Random(self.report.seed * 1000 + number)
        while not self.stop_load.is_set():
            ack = self.due_retry()
            if ack is not None:
                self.count("retries", "later (another client)")
                self.check_replay(ack, self.until_answered(ack.operation, rng, first=False), "later")
                continue
            operation = self.choose(rng)
            if operation is not None:
                self.perform(operation, rng)

    def killer(self) -> None:
        rng = random.Random(self.report.seed + 7)
        while not self.stop_killer.wait(self.settings.kill_every * rng.uniform(0.6, 1.4)):
            workers = self.server.workers()
            if not workers:
                continue
            victim = rng.choice(workers)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            with self.lock:
                self.report.kills += 1

    def get_tokens(self) -> None:
        self.tokens = api_tokens(self.server.port, self.people, "torture")

    def run(self) -> None:
        self.get_tokens()
        started = time.monotonic()
        clients = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(self.settings.clients)]
        killer = threading.Thread(target=self.killer, daemon=True)
        for thread in clients:
            thread.start()
        if self.settings.kill_every > 0:
            killer.start()
        next_progress = started + 10
        while time.monotonic() - started < self.settings.seconds:
            time.sleep(0.2)
            if self.settings.progress and time.monotonic() >= next_progress:
                next_progress += 10
                print(
                    f"  ... {time.monotonic() - started:5.0f} s: {self.report.total_operations} operations, "
                    f"{self.report.kills} kills, {len(self.report.violations)} violations",
                    flush=True,
                )
        self.stop_load.set()
        for thread in clients:
            thread.join()
        self.stop_killer.set()
        if killer.is_alive():
            killer.join()
        self.report.elapsed = time.monotonic() - started
        self.finish_retries()

    def finish_retries(self) -> None:
        """The later retries still due, then every acknowledged key once more: each must answer
        exactly as it first did (the workers are all alive again by now)."""
        self.server.wait_ready()
        pending = [ack for _due, _n, ack in self.later] + list(self.acknowledged)
        self.later.clear()
        chunks = [pending[n :: self.settings.clients] for n in range(self.settings.clients)]

        def replay(number: int, chunk: list[Acknowledged]) -> None:
            rng = random.Random(number)
            for ack in chunk:
                self.count("retries", "final replay of every ack")
                self.check_replay(ack, self.until_answered(ack.operation, rng, first=False), "final")

        threads = [threading.Thread(target=replay, args=(n, chunk)) for n, chunk in enumerate(chunks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _code(body: bytes) -> str:
    try:
        data = json.loads(body)
        return str(data["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


def _api_request_key(member_id: int, key: str) -> str:
    """The services' request key for an API Idempotency-Key (as the API views derive it)."""
    return f"api-{member_id}-" + hashlib.sha256(key.encode()).hexdigest()


# -- verifying the ledger -----------------------------------------------------------------------


def verify(database_url: str, torture: Torture, report: Report) -> None:
    from timebank.extensions import db
    from timebank.ledger.limits import limits_for
    from timebank.models import (
        Account,
        ApiIdempotencyRecord,
        Exchange,
        ExchangeStatus,
        Timebank,
        Transfer,
        TransferPhase,
        TransferPurpose,
    )

    app = _app(database_url)
    problems = report.violations
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["timebank", "check-ledger"])
        report.ledger_summary = result.output.strip().splitlines()[-1] if result.output.strip() else "(no output)"
        if result.exit_code != 0:
            problems.append(f"flask timebank check-ledger failed ({result.exit_code}): {result.output[-2000:]}")
        session = db.session()

        # Σ credits − Σ debits = 0, posted and pending, per timebank.
        for timebank_id, posted, pending in session.execute(
            select(
                Account.timebank_id,
                func.sum(Account.credits_posted - Account.debits_posted),
                func.sum(Account.credits_pending - Account.debits_pending),
            ).group_by(Account.timebank_id)
        ):
            if posted != 0 or pending != 0:
                problems.append(f"timebank {timebank_id}: credits − debits = {posted} posted, {pending} pending")
        report.transfers = session.scalar(select(func.count(Transfer.id))) or 0
        report.exchanges = session.scalar(select(func.count(Exchange.id))) or 0

        # No account past its floor or cap (pending counted pessimistically).
        timebanks = {t.id: t for t in session.scalars(select(Timebank))}
        low = Account.credits_posted - Account.debits_posted - Account.debits_pending
        high = Account.credits_posted + Account.credits_pending - Account.debits_posted
        for account, lowest, highest in session.execute(select(Account, low, high)):
            limits = limits_for(account, timebanks[account.timebank_id])
            if limits.floor is not None and lowest < limits.floor:
                problems.append(f"account {account.id} ({account.name}) can reach {lowest} min < floor {limits.floor}")
            if limits.cap is not None and highest > limits.cap:
                problems.append(f"account {account.id} ({account.name}) can reach {highest} min > cap {limits.cap}")

        # Every exchange's state agrees with its transfers.
        transfers = {
            t.id: t
            for t in session.execute(
                select(
                    Transfer.id,
                    Transfer.phase,
                    Transfer.purpose,
                    Transfer.pending_id,
                    Transfer.reverses_id,
                    Transfer.idempotency_key,
                    Transfer.amount_minutes,
                )
            )
        }
        resolution: dict[int, list[Any]] = {}
        reversal: dict[int, list[Any]] = {}
        for t in transfers.values():
            if t.pending_id is not None:
                resolution.setdefault(t.pending_id, []).append(t)
            if t.reverses_id is not None:
                reversal.setdefault(t.reverses_id, []).append(t)
        by_key: dict[str, list[Any]] = {}
        for t in transfers.values():
            by_key.setdefault(t.idempotency_key, []).append(t)
        exchanges = {
            e.id: e
            for e in session.execute(
                select(
                    Exchange.id,
                    Exchange.status,
                    Exchange.request_key,
                    Exchange.pending_transfer_id,
                    Exchange.minutes,
                    Exchange.confirmed_by_id,
                )
            )
        }
        by_request_key: dict[str, list[Any]] = {}
        for e in exchanges.values():
            if e.request_key:
                by_request_key.setdefault(e.request_key, []).append(e)

        def posts(e: Any) -> list[Any]:
            return [t for t in resolution.get(e.pending_transfer_id, []) if t.phase == TransferPhase.POST]

        def voids(e: Any) -> list[Any]:
            return [t for t in resolution.get(e.pending_transfer_id, []) if t.phase == TransferPhase.VOID]

        def reversals(e: Any) -> list[Any]:
            return [r for p in posts(e) for r in reversal.get(p.id, [])]

        for e in exchanges.values():
            if e.pending_transfer_id is None:
                problems.append(f"exchange {e.id} ({e.status}) has no reservation")
                continue
            reserve = transfers.get(e.pending_transfer_id)
            if reserve is None or reserve.phase != TransferPhase.PENDING or reserve.amount_minutes != e.minutes:
                problems.append(f"exchange {e.id}: its reservation is not a pending transfer of its minutes")
            expected = {
                ExchangeStatus.APPROVED: (1, 0, 0),
                ExchangeStatus.REVERSED: (1, 0, 1),
                ExchangeStatus.REJECTED: (0, 1, 0),
                ExchangeStatus.RECORDED: (0, 0, 0),
                ExchangeStatus.CONFIRMED: (0, 0, 0),
            }.get(e.status)
            counts = (len(posts(e)), len(voids(e)), len(reversals(e)))
            if expected is not None and counts != expected:
                problems.append(f"exchange {e.id} is {e.status} but has (posts, voids, reversals) = {counts}")

        # Every acknowledged operation is in the ledger exactly once.
        records = {
            (r.member_id, r.key): r
            for r in session.execute(
                select(
                    ApiIdempotencyRecord.member_id,
                    ApiIdempotencyRecord.key,
                    ApiIdempotencyRecord.method_path,
                    ApiIdempotencyRecord.status_code,
                    ApiIdempotencyRecord.response_body,
                )
            )
        }
        for ack in torture.acknowledged:
            op = ack.operation
            where = f"acknowledged {op.kind} (key {op.key}, {op.path})"
            record = records.get((op.actor.member_id, op.key))
            if record is None or record.status_code != ack.status or record.response_body.encode() != ack.body:
                problems.append(f"{where}: the stored idempotency record does not hold its answer")
            if op.kind in ("record", "record_for"):
                found = by_request_key.get(_api_request_key(op.actor.member_id, op.key), [])
                if len(found) != 1 or found[0].id != ack.data["id"]:
                    problems.append(f"{where}: {len(found)} exchanges for its key (answer said {ack.data['id']})")
                    continue
                e = found[0]
                reserves = by_key.get(f"exchange-{e.id}-reserve", [])
                if len(reserves) != 1 or reserves[0].amount_minutes != ack.data["minutes"]:
                    problems.append(f"{where}: {len(reserves)} reservations for exchange {e.id}")
                if ack.data["status"] == "approved" and len(posts(e)) != 1:
                    problems.append(f"{where}: recorded approved but {len(posts(e))} postings")
                continue
            if op.kind == "donate":
                key = f"donation-{op.actor.member_id}-{_api_request_key(op.actor.member_id, op.key)}"
                given = by_key.get(key, [])
                if (
                    len(given) != 1
                    or given[0].id != ack.data["id"]
                    or given[0].purpose != TransferPurpose.DONATION
                    or given[0].amount_minutes != ack.data["minutes"]
                ):
                    problems.append(f"{where}: {len(given)} donations for its key (answer said {ack.data['id']})")
                continue
            stepped = exchanges.get(op.exchange_id or 0)
            if stepped is None:
                problems.append(f"{where}: exchange {op.exchange_id} does not exist")
                continue
            e = stepped
            if op.kind == "approve" or (op.kind == "confirm" and ack.data["status"] == "approved"):
                if len(posts(e)) != 1 or len(by_key.get(f"exchange-{e.id}-post", [])) != 1:
                    problems.append(f"{where}: {len(posts(e))} postings of exchange {e.id}")
            elif op.kind == "confirm" and e.confirmed_by_id is None:
                problems.append(f"{where}: exchange {e.id} was never confirmed")
            elif op.kind == "reject" and (len(voids(e)) != 1 or posts(e)):
                problems.append(f"{where}: exchange {e.id} has {len(voids(e))} voids, {len(posts(e))} postings")
            elif op.kind == "reverse" and (
                len(reversals(e)) != 1
                or e.status != ExchangeStatus.REVERSED
                or any(r.purpose != TransferPurpose.REVERSAL for r in reversals(e))
            ):
                problems.append(f"{where}: exchange {e.id} ({e.status}) has {len(reversals(e))} reversals")

        # An interrupted request's retry got a 2xx or its first answer, never a 409 for its own
        # effect (see ``own_effect_problems``).
        made = {
            "created": set(exchanges),
            "approved": {e.id for e in exchanges.values() if posts(e)},
            "rejected": {e.id for e in exchanges.values() if voids(e)},
            "reversed": {e.id for e in exchanges.values() if reversals(e)},
            "donated": {t.id for t in transfers.values() if t.purpose == TransferPurpose.DONATION},
        }
        problems += own_effect_problems(made, records, torture.interrupted_refusals)
        db.session.remove()
        db.engine.dispose()


STEP_DONE = {"reject": "rejected", "reverse": "reversed"}


def own_effect_problems(
    made: dict[str, set[int]], records: dict[tuple[int, str], Any], interrupted_refusals: list[tuple[Any, int, str]]
) -> list[str]:
    """The ledger's effects (``made``: exchange ids created, approved, rejected and reversed,
    donation transfer ids) against the stored answers (``records`` by (member, key)). An effect
    commits with its stored answer, so each must have a 2xx answer that names it (or its
    request's answer was lost, and a retry would meet the effect as a 409); and a request whose
    retry after an interruption was refused must have no 2xx answer of its own (it would have
    been refused its own effect)."""
    problems = []
    answered = _answered_effects(records.values())
    for effect, ids in made.items():
        what = "donation" if effect == "donated" else "exchange"
        problems += [
            f"{what} {id_} was {effect}, but no stored answer says so (its request's answer was lost)"
            for id_ in sorted(ids - answered[effect])
        ]
    for op, status, code in interrupted_refusals:
        record = records.get((op.actor.member_id, op.key))
        if record is not None and 200 <= record.status_code < 300:
            problems.append(
                f"interrupted {op.kind} {op.path} (key {op.key}) was answered {status} {code} on retry, "
                f"but its own {record.status_code} answer is stored: a 409 for its own effect"
            )
    return problems


def _answered_effects(records: Any) -> dict[str, set[int]]:
    """What the stored 2xx answers say was done: exchanges created, approved (a coordinator's
    record, a confirmation approved at once, an approval), rejected and reversed; donations."""
    answered: dict[str, set[int]] = {name: set() for name in ("created", "approved", "rejected", "reversed", "donated")}
    for record in records:
        if not 200 <= record.status_code < 300:
            continue
        data = json.loads(record.response_body)
        path = record.method_path.partition(" ")[2]
        parts = path.strip("/").split("/")  # api, v1, exchanges[, id, step]
        if path == "/api/v1/donations":
            answered["donated"].add(data["id"])
        elif path == "/api/v1/exchanges":
            answered["created"].add(data["id"])
            if data["status"] == "approved":
                answered["approved"].add(data["id"])
        elif len(parts) == 5 and parts[2] == "exchanges":
            step, exchange_id = parts[4], int(parts[3])
            if step == "approve" or (step == "confirm" and data["status"] == "approved"):
                answered["approved"].add(exchange_id)
            elif step in STEP_DONE:
                answered[STEP_DONE[step]].add(exchange_id)
    return answered


# -- running it -----------------------------------------------------------------------------------


def run(settings: Settings) -> Report:
    seed = settings.seed if settings.seed is not None else random.randrange(10**6)
    report = Report(settings=settings, seed=seed)
    with tempfile.TemporaryDirectory(prefix="torture-") as folder, fresh_database_for(
        settings, Path(folder)
    ) as database_url:
        report.database = Path(make_url(database_url).database or "").name
        people = migrate_and_seed(database_url, settings.members)
        server = Server(database_url, settings.workers, Path(folder) / "gunicorn.log")
        try:
            server.wait_ready()
            torture = Torture(settings, people, server, report)
            torture.run()
        finally:
            log = server.log_tail(200)
            server.stop()
        report.server_log = log
        verify(database_url, torture, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/torture", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load runs (default 30)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (default 16)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--kill-every", type=float, default=3.0, help="SIGKILL a worker every ~S seconds; 0: never")
    parser.add_argument("--members", type=int, default=24, help="participants across the two timebanks (default 24)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql", help="default postgresql")
    parser.add_argument("--admin-url", default="", help="PostgreSQL URL where CREATE DATABASE may run")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database afterwards")
    args = parser.parse_args(argv)
    settings = Settings(
        seconds=args.seconds,
        clients=args.clients,
        workers=args.workers,
        kill_every=args.kill_every,
        members=max(args.members, 4),
        seed=args.seed,
        admin_url=args.admin_url,
        keep_database=args.keep_database,
        progress=True,
        database=args.database,
    )
    report = run(settings)
    print(report.text())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
