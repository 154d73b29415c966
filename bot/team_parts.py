"""The settings, language and Slack notifier of the team the current work belongs to.

The checker, the outbox sender and the chart poster serve every workspace from one object;
what differs per workspace (its settings, its bot token) is looked up for the current team
(bot.tenancy.current_team) through bot.workspaces.Workspaces at the moment it is needed.
In single-workspace mode that is always the settings and notifier the process was built with.
"""

from __future__ import annotations

import threading
from typing import Optional

from bot.config import Settings
from bot.notifier import Notifier, SlackNotifier
from bot.tenancy import SINGLE_TEAM, current_team
from bot.workspaces import Workspaces


class TeamParts:
    def __init__(self, settings: Settings, notifier: Notifier, workspaces: Optional[Workspaces] = None) -> None:
        """`notifier`: the single workspace's (or, in tests and benches, one that records calls);
        `workspaces`: where other teams' settings and clients come from (None: single-workspace)."""
        self.workspaces = workspaces or Workspaces(settings, getattr(notifier, "client", None))
        self._single = notifier
        self._notifiers: dict[str, tuple[object, Notifier]] = {}
        self._lock = threading.Lock()

    def settings(self) -> Settings:
        return self.workspaces.settings_for(current_team())

    def notifier(self) -> Notifier:
        team = current_team()
        if team == SINGLE_TEAM:
            return self._single
        client = self.workspaces.client_for(team)
        with self._lock:  # one notifier per client (a reinstall's new token brings a new client)
            known = self._notifiers.get(team)
            if known is None or known[0] is not client:
                known = self._notifiers[team] = (client, SlackNotifier(client))
            return known[1]


class OfCurrentTeam:
    """`settings`, `lang` and `notifier` attributes that answer for the current team."""

    parts: TeamParts

    @property
    def settings(self) -> Settings:
        return self.parts.settings()

    @property
    def lang(self) -> str:
        return self.parts.settings().language

    @property
    def notifier(self) -> Notifier:
        return self.parts.notifier()
