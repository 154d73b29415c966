"""What every listener needs: settings, the database engine and the checker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

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

    @property
    def lang(self) -> str:
        return self.settings.language

    def after_ack(self, respond: Callable[..., object], what: str, work: Callable[[], None]) -> None:
        """Run work that follows ack(); on an unexpected error tell the user instead of going silent.

        Database work runs in one transaction per step, so a failure leaves nothing half-stored.
        """
        try:
            work()
        except Exception:
            log.exception("%s failed", what)
            try:
                respond(text=t(self.lang, "reply.internal_error"), response_type="ephemeral",
                        replace_original=False)
            except Exception:
                log.exception("could not tell the user that %s failed", what)
