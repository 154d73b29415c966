"""The workspaces this process serves, and each one's settings and Slack client.

Single-workspace mode (SLACK_BOT_TOKEN set): one workspace, SINGLE_TEAM, with the settings from
the environment and the one bot-token client. The OAuth mode (many installed workspaces) adds
installed teams, per-workspace settings and per-workspace tokens behind the same three calls.
"""

from __future__ import annotations

from bot.config import Settings
from bot.tenancy import SINGLE_TEAM


class Workspaces:
    def __init__(self, settings: Settings, client) -> None:
        """`client`: the bot-token Slack client (bot.notifier.make_web_client) of single-workspace mode."""
        self.settings = settings
        self._client = client

    def teams(self) -> list[str]:
        """Every workspace whose stock this process checks."""
        return [SINGLE_TEAM]

    def settings_for(self, team: str | None = None) -> Settings:
        """The settings `team` (default: the current team, bot.tenancy.current_team) works with."""
        return self.settings

    def client_for(self, team: str | None = None):
        """The Slack client that speaks for `team` (default: the current team)."""
        return self._client
