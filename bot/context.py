"""What every listener needs: settings, the database engine, the checker and where work after
ack() runs."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Callable, Optional

from sqlalchemy.engine import Engine

from bot.checker import Checker
from bot.config import Settings
from bot.i18n import t

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    checker: Checker
    # Where listeners' work after ack() runs (bot.app: its own pool, apart from Bolt's listener
    # threads, so a slow Slack or database never holds up another request's ack). None: inline.
    background: Optional[Executor] = None

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

        if self.background is None:
            run()
        else:
            self.background.submit(run)

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
