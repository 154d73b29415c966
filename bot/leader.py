"""Which process runs the scheduled work when several share one database.

Three guards, from the widest to the narrowest:

- `Leadership`: a lease row (table `lease`) names the leader. The leader renews it every ttl/4;
  when it dies the lease runs out and another process takes it within ttl + ttl/4. Only the
  leader runs the scheduled jobs (and the outbox sender asks `is_leader()` / `leading`).
- `check_lock`: every check, scheduled or immediate, in any process, holds a cross-process lock
  (a Postgres advisory lock, or a lock file next to a SQLite file), so two checks never overlap
  even if clocks disagree about the lease.
- `single_process_lock`: SQLite is for one process; a second `stockbot run`/`worker` on the same
  file is refused at start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Callable, Iterator, Optional

from sqlalchemy import case, delete, or_, select, text, update
from sqlalchemy.engine import Engine, make_url

from bot.config import ConfigError
from bot.tenancy import SINGLE_TEAM
from storage.models import Lease
from storage.repo import _insert, utcnow

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"
_TABLE = Lease.__table__


HOST = socket.gethostname()[:80]


def make_holder_id() -> str:
    """host:pid:random — readable in /healthz, unique even when a pid is reused."""
    return f"{HOST}:{os.getpid()}:{secrets.token_hex(3)}"


def process_gone(holder: Optional[str]) -> bool:
    """True when `holder` ("host:pid[:…]") names a process on this host that no longer runs: its
    lease or its claim can be taken at once instead of after it runs out (a restart after a crash)."""
    host, _, rest = (holder or "").partition(":")
    pid = rest.split(":", 1)[0]
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # it exists but is not ours to signal, or not a pid at all
        return False
    return False


@dataclass(frozen=True)
class LeaseInfo:
    holder: str
    expires_at: datetime
    acquired_at: datetime

    def live(self, now: datetime) -> bool:
        return now < self.expires_at


def current_lease(engine: Engine, name: str = SCHEDULER_LEASE) -> Optional[LeaseInfo]:
    with engine.connect() as conn:
        row = conn.execute(select(_TABLE.c.holder, _TABLE.c.expires_at, _TABLE.c.acquired_at)
                           .where(_TABLE.c.name == name)).first()
    return LeaseInfo(*row) if row else None


class Leadership:
    """A lease in the database. `start()` takes it if free and keeps renewing it in a thread."""

    def __init__(self, engine: Engine, name: str = SCHEDULER_LEASE, ttl: timedelta = timedelta(minutes=15),
                 holder_id: Optional[str] = None) -> None:
        self.engine, self.name, self.ttl = engine, name, ttl
        self.holder_id = holder_id or make_holder_id()
        self.leading = threading.Event()  # set while this process leads
        self._expires_at: Optional[datetime] = None  # the expiry we wrote (the database's view)
        self._valid_until = 0.0  # the same on this process's monotonic clock, counted from before the write
        self._callbacks: list[Callable[[bool], None]] = []
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # ---- the lease ------------------------------------------------------------------------

    def try_acquire_or_renew(self, now: Optional[datetime] = None) -> bool:
        """One atomic UPDATE (ours, or expired), else an INSERT if there is no row. True: we lead."""
        now = now or utcnow()
        started = time.monotonic()
        expires = now + self.ttl
        mine = _TABLE.c.holder == self.holder_id
        with self.engine.begin() as conn:
            # Postgres re-checks the WHERE on the newest row after a concurrent UPDATE commits, and
            # SQLite runs one writer at a time: of two processes racing for an expired lease, one wins.
            won = conn.execute(
                update(_TABLE).where(_TABLE.c.name == self.name, or_(mine, _TABLE.c.expires_at < now))
                .values(holder=self.holder_id, expires_at=expires,
                        acquired_at=case((mine, _TABLE.c.acquired_at), else_=now))
            ).rowcount == 1
            if not won:
                insert = _insert(conn, _TABLE).values(name=self.name, holder=self.holder_id, expires_at=expires,
                                                      acquired_at=now)
                conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
                # (the driver's rowcount for INSERT … ON CONFLICT is not reliable: read the row back)
                holder = conn.execute(select(_TABLE.c.holder).where(_TABLE.c.name == self.name)).scalar()
                won = holder == self.holder_id
                if not won and process_gone(holder):  # its process died on this host: no need to wait it out
                    won = conn.execute(
                        update(_TABLE).where(_TABLE.c.name == self.name, _TABLE.c.holder == holder)
                        .values(holder=self.holder_id, expires_at=expires, acquired_at=now)).rowcount == 1
        if won:
            self._expires_at, self._valid_until = expires, started + self.ttl.total_seconds()
        self._became(won)
        return won

    def is_leader(self, now: Optional[datetime] = None) -> bool:
        """True while our lease is unexpired: by `now` if given, else by this process's clock."""
        if not self.leading.is_set():
            return False
        if now is not None:
            return self._expires_at is not None and now < self._expires_at
        return time.monotonic() < self._valid_until

    def release(self) -> None:
        """Stop renewing and give the lease up, so a follower takes over at its next heartbeat."""
        self.stop()
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(_TABLE).where(_TABLE.c.name == self.name, _TABLE.c.holder == self.holder_id))
        except Exception:  # the lease runs out by itself
            log.warning("could not release the %s lease", self.name, exc_info=True)
        self._became(False)

    def on_change(self, callback: Callable[[bool], None]) -> None:
        """callback(True) when this process becomes the leader, callback(False) when it stops."""
        self._callbacks.append(callback)

    def _became(self, leading: bool) -> None:
        with self._state_lock:
            if leading == self.leading.is_set():
                return
            (self.leading.set if leading else self.leading.clear)()
        log.info("%s lease: %s (%s)", self.name, "this process leads" if leading else "another process leads",
                 self.holder_id)
        for callback in list(self._callbacks):
            try:
                callback(leading)
            except Exception:
                log.exception("a %s lease callback failed", self.name)

    # ---- the heartbeat --------------------------------------------------------------------

    def start(self) -> "Leadership":
        """Try once now (so the caller knows at once), then renew or retry every ttl/4 in a thread."""
        self._beat()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lease-{self.name}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl.total_seconds() / 4):
            self._beat()

    def _beat(self) -> None:
        try:
            self.try_acquire_or_renew()
        except Exception:  # the database is unreachable: we lead only until our lease runs out
            log.warning("could not renew the %s lease", self.name, exc_info=True)
            if self.leading.is_set() and not self.is_leader():
                self._became(False)


# ---- one check at a time, across processes --------------------------------------------------

class CheckBusy(RuntimeError):
    """Another process's check held the cross-process check lock for the whole wait."""


_ADVISORY_CLASS = 0x53746B62  # "Stkb": our advisory locks; the second key is the schema's hash


def _sqlite_file(database_url) -> Optional[str]:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    return os.path.abspath(url.database)


@contextlib.contextmanager
def check_lock(engine: Engine, wait_seconds: float, team: str = SINGLE_TEAM) -> Iterator[None]:
    """Held for the duration of one team's check. Postgres: a session-level advisory lock (per schema
    and team: two workspaces' checks never wait for each other; the single workspace keeps the key
    it always had);
    SQLite file: an flock on '<file>.check.lock'; otherwise nothing. Raises CheckBusy after wait_seconds."""
    deadline = time.monotonic() + wait_seconds
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # The lock lives as long as this session: if our host vanishes from the network, the server
            # notices within about a minute (not the system default of hours) and frees it.
            for setting in ("tcp_keepalives_idle = 30", "tcp_keepalives_interval = 10", "tcp_keepalives_count = 3"):
                conn.execute(text(f"SET {setting}"))
            key = text("SELECT pg_try_advisory_lock(:c, hashtext(coalesce(current_schema(), '') || :team))")
            suffix = "" if team == SINGLE_TEAM else ":" + team
            while not conn.execute(key, {"c": _ADVISORY_CLASS, "team": suffix}).scalar():
                conn.commit()
                if time.monotonic() >= deadline:
                    raise CheckBusy(f"another process's check held the lock for {wait_seconds:.0f} s")
                time.sleep(0.1)
            conn.commit()  # the lock belongs to the session, not to a transaction left open
            try:
                yield
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:c, hashtext(coalesce(current_schema(), '') || :team))"),
                                 {"c": _ADVISORY_CLASS, "team": suffix})
                    conn.commit()
                except Exception:  # a broken connection: closing it ends the session and its lock
                    conn.invalidate()
        return
    path = _sqlite_file(engine.url)
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: one process per SQLite file is the rule anyway
        yield
        return
    with open(path + ".check.lock", "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CheckBusy(f"another process's check held the lock for {wait_seconds:.0f} s") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---- SQLite: one process -----------------------------------------------------------------------

class AlreadyRunning(ConfigError):
    """A second scheduler process on one SQLite file (main prints it and exits 2)."""


def single_process_lock(database_url: str) -> Optional[IO[str]]:
    """On a SQLite file, take '<file>.lock' for the life of the process; keep the returned handle.

    Raises AlreadyRunning if another process holds it. Postgres, in-memory SQLite and Windows: None."""
    path = _sqlite_file(database_url)
    if path is None:
        return None
    try:
        import fcntl
    except ImportError:
        return None
    handle = open(path + ".lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise AlreadyRunning(f"another Stockbot process is already running on {path} (pid {pid}). SQLite supports "
                             f"one process; use Postgres (DATABASE_URL) to run replicas.") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
