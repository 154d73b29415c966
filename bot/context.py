"""What every listener needs: settings, the database engine, the checker and where work after
ack() runs."""

from __future__ import annotations

import contextvars
import logging
import threading
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Optional

from sqlalchemy.engine import Engine

from bot.checker import Checker
from bot.config import Settings
from bot.i18n import t
from bot.leader import Leadership

if TYPE_CHECKING:
    from bot.workspaces import Workspaces

log = logging.getLogger(__name__)

ACKS_FIRST_MAX_WAIT = 0.25  # seconds work after ack() gives way to requests still waiting for theirs


class AckGate:
    """Acks go first: counts Slack requests on their way to their ack; work after ack() waits until
    none is (at most ACKS_FIRST_MAX_WAIT, so a steady stream of requests cannot starve replies), so a
    burst of requests is acknowledged before the work they started competes for the interpreter."""

    def __init__(self, max_wait: float = ACKS_FIRST_MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._waiting = 0
        self._clear = threading.Condition()

    @contextmanager
    def acking(self) -> Iterator[None]:
        with self._clear:
            self._waiting += 1
        try:
            yield
        finally:
            with self._clear:
                self._waiting -= 1
                if not self._waiting:
                    self._clear.notify_all()

    def give_way(self) -> None:
        with self._clear:
            self._clear.wait_for(lambda: not self._waiting, self.max_wait)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    checker: Checker
    # The scheduler lease (bot/leader.py) when this process runs a scheduler; None otherwise.
    # The outbox sender and /healthz ask it: ctx.leadership.is_leader(), .leading, .on_change().
    leadership: Optional[Leadership] = None
    # Where listeners' work after ack() runs (bot.app: its own pool, apart from Bolt's listener
    # threads, so a slow Slack or database never holds up another request's ack). None: inline.
    background: Optional[Executor] = None
    acks: AckGate = field(default_factory=AckGate)
    # The Slack request guard's own short-waiting pool (bot.slack_guard.guard_engine); None: `engine`.
    guard_engine: Optional[Engine] = None
    # The workspaces served and each one's settings and Slack client (bot/workspaces.py); build_context sets it.
    workspaces: Optional["Workspaces"] = None

    @property
    def guard_db(self) -> Engine:
        return self.guard_engine or self.engine

    @property
    def lang(self) -> str:
        return self.settings.language

    def in_background(self, what: str, work: Callable[[], None]) -> None:
        """Run `work` after the listener returns; an unexpected error is logged."""
        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("%s failed", what)

        def run_after_acks() -> None:
            self.acks.give_way()
            run()

        if self.background is None:
            run()
        else:
            # The pool's thread runs it in a copy of this one's context: its log lines keep the
            # request_id of the request that started it (bot/logs.py).
            self.background.submit(contextvars.copy_context().run, run_after_acks)

    def after_ack(self, respond: Callable[..., object], what: str, work: Callable[[], None]) -> None:
        """Run work that follows ack() (in the background); on an unexpected error tell the user
        instead of going silent.

        Database work runs in one transaction per step, so a failure leaves nothing half-stored.
        """
        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("%s failed", what)
                try:
                    respond(text=t(self.lang, "reply.internal_error"), response_type="ephemeral",
                            replace_original=False)
                except Exception:
                    log.exception("could not tell the user that %s failed", what)

        self.in_background(what, run)
