"""Fixtures: a loopback Slack, a real database (SQLite file, or Postgres via TEST_DATABASE_URL)
and the real Stockbot HTTP server, driven with signed requests as Slack sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Optional
from urllib.parse import urlencode

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.pool import NullPool

from bot.app import BACKGROUND_WORKERS, LISTENER_WORKERS, build_app
from bot.config import Settings, normalize_database_url
from bot.web import create_server, make_wsgi_app
from storage.db import init_db, make_engine
from tests.slack_server import BOT_TOKEN, SlackServer

SIGNING_SECRET = "test-signing-secret"
ALERT_CHANNEL = "C0ALERTS"


@dataclass
class HttpResult:
    status: int
    body: str
    response_key: str = ""

    def json(self):
        return json.loads(self.body)


def sign(body: str, timestamp: Optional[int] = None, secret: str = SIGNING_SECRET) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def http(method: str, url: str, body: str = "", headers: Optional[dict] = None) -> HttpResult:
    request = urllib.request.Request(url, data=body.encode() if method == "POST" else None, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return HttpResult(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, error.read().decode())


def wait_until(condition, timeout: float = 5.0):
    """Poll until `condition()` is truthy and return it (the app writes after Slack gets its answer)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return value


class ListenerPool(ThreadPoolExecutor):
    """Bolt's listener pool (or the pool of work after ack()), countable: tests wait for the work a
    listener does after ack(). Sized as in production (bot.app)."""

    def __init__(self, max_workers: int = LISTENER_WORKERS, name: str = "listener") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name)
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait_idle(self, timeout: float = 10.0) -> None:
        with self._lock:
            pending = list(self._pending)
        _, not_done = wait(pending, timeout=timeout)
        assert not not_done, f"{len(not_done)} listener(s) still running after {timeout}s"

    @property
    def idle(self) -> bool:
        with self._lock:
            return not self._pending


class RunningBot:
    """The real app (Bolt + listeners + checker) behind a real waitress server."""

    def __init__(self, settings: Settings, engine, slack: SlackServer) -> None:
        self.settings, self.slack = settings, slack
        self.listeners = ListenerPool()
        self.background = ListenerPool(BACKGROUND_WORKERS, "after-ack")
        self.app, self.ctx = build_app(settings, engine, listener_executor=self.listeners,
                                       background_executor=self.background)
        self.server = create_server(make_wsgi_app(self.ctx, self.app), port=0, host="127.0.0.1")
        # stop() waits for the serving loop to notice its sockets are closed: it polls every second by
        # default (asyncore_loop_timeout; set here, after waitress's int() of its settings), and every
        # test stops a bot.
        self.server.adj.asyncore_loop_timeout = 0.02
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._trigger = 0

    @property
    def checker(self):
        return self.ctx.checker

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)
        self.server.task_dispatcher.shutdown()
        self.listeners.shutdown(wait=True, cancel_futures=True)
        self.background.shutdown(wait=True, cancel_futures=True)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every listener has finished what it does after ack() (replies), and the
        immediate checks and recomputes they queued are done."""
        deadline = time.monotonic() + timeout
        while True:  # each stage can start work for the next: go round until all are idle at once
            self.listeners.wait_idle(max(deadline - time.monotonic(), 0.01))
            self.background.wait_idle(max(deadline - time.monotonic(), 0.01))
            assert self.checker.wait_soon(max(deadline - time.monotonic(), 0.01)), \
                f"immediate checks still running after {timeout}s"
            if self.listeners.idle and self.background.idle:
                return

    def post_signed(self, body: str, content_type: str = "application/x-www-form-urlencoded",
                    headers: Optional[dict] = None) -> HttpResult:
        all_headers = {"Content-Type": content_type, **sign(body)}
        all_headers.update(headers or {})
        return http("POST", self.url + "/slack/events", body, all_headers)

    def command(self, command: str, text: str, user: str = "U0BUYER", channel: str = "C0WORK",
                team_id: str = "T0TEST", enterprise_id: Optional[str] = None) -> HttpResult:
        """A signed slash command from `team_id` (with `enterprise_id`: from a workspace of an
        Enterprise Grid org, whose org-wide install answers it; tests/workspaces.py)."""
        key = f"{command.strip('/')}-{time.monotonic_ns()}"
        fields = {
            "token": "legacy-verification-token", "team_id": team_id, "team_domain": "test",
            "channel_id": channel, "channel_name": "work", "user_id": user, "user_name": user.lower(),
            "command": command, "text": text, "api_app_id": "A0STOCK",
            "response_url": self.slack.response_url(key),
            "trigger_id": self._next_trigger(),
        }
        if enterprise_id:
            fields.update({"enterprise_id": enterprise_id, "is_enterprise_install": "true"})
        body = urlencode(fields)
        result = self.post_signed(body)
        result.response_key = key
        return result

    def ask(self, command: str, text: str, user: str = "U0BUYER", **where) -> str:
        """Run a slash command and return the reply the user sees (in the ack, or via response_url).
        `where`: team_id / enterprise_id / channel, as for command()."""
        result = self.command(command, text, user=user, **where)
        assert result.status == 200, (result.status, result.body)
        reply = json.loads(result.body).get("text") if result.body else None
        reply = reply or self.slack.wait_for_response(result.response_key)["text"]
        # The reply comes first; work the command does after it (e.g. checking a SKU whose level
        # just changed) is finished before the test goes on, so the next step cannot race it.
        self.settle()
        return reply

    def action(self, action_id: str, value: str, user: str = "U0BUYER", channel: str = ALERT_CHANNEL,
               message_ts: str = "1764000001.000100", select: bool = False, team_id: str = "T0TEST") -> HttpResult:
        """A button press (in `team_id`); with select=True a static_select choice (`value` is the chosen option's)."""
        key = f"action-{time.monotonic_ns()}"
        element = {"action_id": action_id, "block_id": "alert", "value": value, "type": "button",
                   "action_ts": f"{time.time():.6f}"}
        if select:
            element = {"action_id": action_id, "block_id": "alert", "type": "static_select",
                       "selected_option": {"text": {"type": "plain_text", "text": "option"}, "value": value},
                       "action_ts": f"{time.time():.6f}"}
        payload = {
            "type": "block_actions", "team": {"id": team_id}, "user": {"id": user, "name": user.lower(), "team_id": team_id},
            "api_app_id": "A0STOCK", "trigger_id": self._next_trigger(),
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "channel": {"id": channel}, "message": {"ts": message_ts, "text": "alert"},
            "response_url": self.slack.response_url(key),
            "actions": [element],
        }
        result = self.post_signed(urlencode({"payload": json.dumps(payload)}))
        result.response_key = key  # what the app answers through response_url: slack.wait_for_response(key)
        return result

    def view_submission(self, callback_id: str, private_metadata: str, values: dict,
                        user: str = "U0BUYER", team_id: str = "T0TEST") -> HttpResult:
        payload = {
            "type": "view_submission", "team": {"id": team_id},
            "user": {"id": user, "name": user.lower(), "team_id": team_id},
            "api_app_id": "A0STOCK", "trigger_id": self._next_trigger(),
            "view": {"id": "V0TEST", "type": "modal", "callback_id": callback_id,
                     "private_metadata": private_metadata, "state": {"values": values}},
        }
        return self.post_signed(urlencode({"payload": json.dumps(payload)}))

    def event(self, event: dict, team_id: str = "T0TEST", enterprise_id: Optional[str] = None,
              org_wide: bool = False) -> HttpResult:
        envelope = {"token": "legacy", "team_id": team_id, "api_app_id": "A0STOCK", "type": "event_callback",
                    "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()), "event": event}
        if enterprise_id:
            envelope.update({"enterprise_id": enterprise_id, "is_ext_shared_channel": False,
                             "authorizations": [{"enterprise_id": enterprise_id, "team_id": None if org_wide else team_id,
                                                 "user_id": "U0BOT", "is_bot": True,
                                                 "is_enterprise_install": org_wide}]})
        body = json.dumps(envelope)
        return self.post_signed(body, content_type="application/json")

    def _next_trigger(self) -> str:
        self._trigger += 1
        return f"trigger-{self._trigger}"


def _database_url(tmp_path) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    return normalize_database_url(url) if url else f"sqlite:///{tmp_path / 'stockbot-test.db'}"


def _without_commit_flush(url: str) -> str:
    """The test's database URL with synchronous_commit off for every connection (ours and a subprocess's):
    a commit returns before its WAL reaches the disk. Only a crash of the Postgres server could lose such a
    commit, which no test does; the app's processes are what the tests kill."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csynchronous_commit%3Doff"


def _with_search_path(url: str, schema: str) -> str:
    """The same Postgres database, but every connection (ours and a subprocess's) uses `schema`."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def _with_database(url: str, name: str) -> str:
    """The same Postgres server, another database."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def slack():
    server = SlackServer().start()
    yield server
    server.stop()


class PostgresCopies:
    """Copies of the template database on the Postgres server for the tests, one each.

    A copy costs the server real work: CREATE DATABASE writes a whole database (its catalogue too,
    ~8 MB) and DROP DATABASE waits for a checkpoint (~0.13 s together, measured). So a copy a test has
    finished with is emptied and used again (DELETE of every table and sequences restarted: ~6 ms), once
    its layout is checked to still be the template's: a test that changed the schema (the migration
    tests drop columns and alembic_version) gets its copy dropped instead. Before it is emptied, every
    connection still open to it is ended, and it waits REUSE_AFTER seconds first, so a thread a finished
    test left behind cannot write into the next test's database. New copies are made ahead in a thread
    while tests run, for when no emptied one is ready.
    """

    AHEAD = 2
    # DROP DATABASE waits for a checkpoint (Postgres 15: pg_stat_bgwriter.checkpoints_req counts one per drop),
    # and drops waiting together share one: with one thread the drops fell behind the tests.
    DROPPING = 4
    REUSE_AFTER = 3.0  # seconds between a test's end and its database's next use

    # The layout: every column of every table and sequence, every index and the schema revision.
    LAYOUT = """
        SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
            SELECT n.nspname || '.' || c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
                   || ':' || a.attnotnull AS item
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL SELECT schemaname || ':' || indexdef FROM pg_indexes
            WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
            UNION ALL SELECT 'revision:' || version_num FROM alembic_version
        ) layout"""

    def __init__(self, admin, template: str, server_url: str) -> None:
        self.admin, self.template, self.server_url = admin, template, server_url
        self._making = ThreadPoolExecutor(1, thread_name_prefix="db-copy")
        self._dropping = ThreadPoolExecutor(self.DROPPING, thread_name_prefix="db-drop")
        self._emptied: deque[str] = deque()  # ready for another test
        self._resting: dict[str, threading.Timer] = {}  # given back, waiting REUSE_AFTER before it is emptied
        self._emptied_lock = threading.Lock()
        self._layout, self._empty_sql = self._read_template()
        self._next = deque(self._making.submit(self._copy) for _ in range(self.AHEAD))

    def _connect(self, name: str):
        return make_engine(_with_database(self.server_url, name), isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def _read_template(self) -> tuple[str, str]:
        from storage.db import all_metadata

        engine = self._connect(self.template)
        with engine.connect() as conn:
            layout = conn.execute(text(self.LAYOUT)).scalar()
            tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
            sequences = list(conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
                             .scalars())
        engine.dispose()
        ordered = [table.name for metadata in all_metadata() for table in reversed(metadata.sorted_tables)]
        ordered = [name for name in dict.fromkeys(ordered) if name in tables]  # rows that refer to others go first
        # alembic_version keeps its row: the copy stays at the template's revision.
        unknown = sorted(tables - set(ordered) - {"alembic_version"})
        statements = [f'DELETE FROM "{name}"' for name in ordered + unknown]
        statements += [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
        return layout, "; ".join(statements)

    def _copy(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.template}"))
        return name

    def _drop(self, name: str) -> None:
        try:  # FORCE: a connection a finished test left open cannot keep its database alive
            with self.admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        except Exception:  # never fail or hang a test on its cleanup; a leftover database is harmless
            pass

    def _empty(self, name: str) -> None:
        with self._emptied_lock:
            self._resting.pop(name, None)
        try:
            with self.admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
            engine = self._connect(name)
            try:
                with engine.connect() as conn:
                    if conn.execute(text(self.LAYOUT)).scalar() != self._layout:
                        raise ValueError("the test changed the schema")
                    conn.execute(text("SET lock_timeout = '2s'"))
                    conn.exec_driver_sql(self._empty_sql)
            finally:
                engine.dispose()
        except Exception:  # changed, or still in use: not worth knowing why, a new copy replaces it
            self._drop(name)
            return
        with self._emptied_lock:
            self._emptied.append(name)

    def take(self) -> str:
        with self._emptied_lock:
            if self._emptied:
                return self._emptied.popleft()
        ready = self._next.popleft()
        self._next.append(self._making.submit(self._copy))
        return ready.result()  # a failed CREATE DATABASE fails the test that needed it, with the reason

    def give_back(self, name: str) -> None:
        timer = threading.Timer(self.REUSE_AFTER, self._dropping.submit, args=(self._empty, name))
        timer.daemon = True
        with self._emptied_lock:
            self._resting[name] = timer
        timer.start()

    def close(self) -> None:
        with self._emptied_lock:
            resting = list(self._resting.items())
        for _, timer in resting:
            timer.cancel()
        self._making.shutdown(wait=True)
        for ready in self._next:
            if ready.exception() is None:
                self._drop(ready.result())
        self._dropping.shutdown(wait=True)
        with self._emptied_lock:
            left = list(self._emptied) + list(self._resting)
        for name in left:
            self._drop(name)
        self._drop(self.template)
        self.admin.dispose()


@dataclass
class DatabaseTemplate:
    """A database that init_db has set up once per test process (each pytest-xdist worker has its own);
    every test gets a copy. Copying a file, or CREATE DATABASE ... TEMPLATE on Postgres, is much quicker
    than creating the schema (~0.1 s on SQLite, ~0.5 s on Postgres), for each of ~1650 tests."""
    kind: str  # "sqlite" | "postgres" | "schema" (Postgres without the right to create databases)
    source: str  # the template's file (sqlite); the server's URL (postgres, schema)
    copies: Optional[PostgresCopies] = None  # postgres


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    url = _database_url(tmp_path_factory.mktemp("template"))
    if url.startswith("sqlite"):
        path = make_url(url).database
        engine = make_engine(url)
        init_db(engine)
        engine.dispose()
        with sqlite3.connect(path) as conn:  # everything in the main file: a copy of that file is the whole database
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield DatabaseTemplate("sqlite", path)
        return
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"stockbot_tpl_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except ProgrammingError:  # no CREATEDB right: a schema per test in the given database, set up each time
        admin.dispose()
        yield DatabaseTemplate("schema", url)
        return
    engine = make_engine(_with_database(url, name))
    init_db(engine)
    engine.dispose()
    copies = PostgresCopies(admin, name, url)
    yield DatabaseTemplate("postgres", url, copies)
    copies.close()


@pytest.fixture
def database_url(tmp_path, database_template):
    """A fresh database per test: a copy of the template as a SQLite file, or a new database on the
    Postgres server from TEST_DATABASE_URL (dropped after the test, with any connection it left open)."""
    template = database_template
    if template.kind == "sqlite":
        url = _database_url(tmp_path)
        shutil.copyfile(template.source, make_url(url).database)
        yield url
        return
    if template.kind == "schema":
        yield from _schema_per_test(template.source)
        return
    name = template.copies.take()
    yield _without_commit_flush(_with_database(template.source, name))
    template.copies.give_back(name)


def _schema_per_test(url: str):
    """A new schema in the Postgres test database, with the tables. A schema per test (rather than
    dropping tables) means a connection left open by a finished test can never block the next one."""
    for test_url in new_schema(url, "t_"):
        engine = make_engine(test_url)
        init_db(engine)
        engine.dispose()
        yield test_url


def new_schema(url: str, prefix: str):
    """Yield the URL of a new, empty schema in the Postgres database `url` (every connection made
    with it, ours and a subprocess's, uses that schema); dropped afterwards."""
    schema = f"{prefix}{uuid.uuid4().hex[:16]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield _with_search_path(url, schema)
    try:
        with admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    except Exception:  # a straggling connection holds a lock: leave the schema, never hang the suite
        pass
    admin.dispose()


@pytest.fixture
def stock_file(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text("sku,name,available\n", encoding="utf-8")
    return path


def write_stock(path, rows: dict, warehouse: bool = False) -> None:
    """Write a stock CSV the way an ERP export looks; with warehouse=True the keys are (sku, warehouse)."""
    if warehouse:
        lines = ["sku,warehouse,name,available"] + [f"{sku},{wh},{sku} name,{available}"
                                                     for (sku, wh), available in rows.items()]
    else:
        lines = ["sku,name,available"] + [f"{sku},{sku} name,{available}" for sku, available in rows.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def settings(slack, database_url, stock_file):
    return Settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url,
        database_url=database_url, alert_channel=ALERT_CHANNEL, stock_source=f"csv:{stock_file}",
        check_interval_seconds=900, remind_after_hours=24,
        # No pause between messages to one channel: tests of pacing set it (tests/test_outbox.py).
        channel_pace_seconds=0.0,
    )


@pytest.fixture
def start_bot(settings, slack):
    """Start the bot (optionally with other settings); every bot started is stopped after the test."""
    running: list[RunningBot] = []

    def start(**overrides) -> RunningBot:
        current = replace(settings, **overrides) if overrides else settings
        engine = make_engine(current.database_url)
        bot = RunningBot(current, engine, slack)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        bot.stop()
        bot.ctx.engine.dispose()
        bot.ctx.guard_db.dispose()


@pytest.fixture
def bot(start_bot):
    return start_bot()


@pytest.fixture
def oauth_bot(start_bot, settings):
    """Start the bot in OAuth mode (no bot token: workspaces install it through /slack/install);
    keyword overrides as for start_bot. Install workspaces with tests.workspaces.install_workspace."""
    from tests.workspaces import oauth_settings

    def start(**overrides) -> RunningBot:
        return start_bot(**{**_changed_fields(settings, oauth_settings(settings)), **overrides})

    return start


def _changed_fields(before: Settings, after: Settings) -> dict:
    from dataclasses import fields

    return {f.name: getattr(after, f.name) for f in fields(after) if getattr(after, f.name) != getattr(before, f.name)}


# ---- the seller's ERP database (the SQL stock source) --------------------------------------------

ERP_QUERY = "SELECT item_code AS sku, qty_free AS available, wh AS warehouse, title AS name FROM inventory"


@pytest.fixture
def erp(tmp_path):
    """The seller's ERP database: a real SQLite file with its own table names."""
    path = tmp_path / "erp.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE inventory (item_code TEXT, qty_free INTEGER, wh TEXT, title TEXT)")
    return path


# ---- running in parallel (pytest-xdist) -------------------------------------------------------------

# The longest tests (README, "Test time, and the slowest tests"), started first so that no worker is still running one of
# them when the others have finished everything else.
SLOW_TEST_FILES = ("test_crash.py", "test_cli.py", "test_replicas.py", "test_backtest_aim.py", "test_socket_mode.py")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.path.name
        return SLOW_TEST_FILES.index(name) if name in SLOW_TEST_FILES else len(SLOW_TEST_FILES)

    items.sort(key=rank)  # stable: the order inside a file, and of all other files, stays as written
