"""What every listener needs: settings, the database engine and the checker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Optional

from sqlalchemy.engine import Engine

from bot.checker import Checker
from bot.config import Settings
from bot.i18n import t
from bot.leader import Leadership

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    checker: Checker
    # The scheduler lease (bot/leader.py) when this process runs a scheduler; None otherwise.
    # The outbox sender and /healthz ask it: ctx.leadership.is_leader(), .leading, .on_change().
    leadership: Optional[Leadership] = None

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
