"""Which workspace the current work belongs to.

Every stored row carries a `team_id`: the Slack workspace (team) it belongs to, or, for an
org-wide Enterprise Grid install, the enterprise id. Work for one workspace (a request from
Slack, one workspace's check, the delivery of one outbox entry) runs inside `using_team(key)`;
storage reads and writes the current team's rows only.

In single-workspace mode (SLACK_BOT_TOKEN in the environment) everything belongs to
SINGLE_TEAM, so an install from before workspaces existed keeps every row as it was.
"""

from __future__ import annotations

import contextvars
import functools
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, TypeVar

SINGLE_TEAM = ""  # the one workspace of a bot-token install

_current: contextvars.ContextVar[str] = contextvars.ContextVar("stockbot_team", default=SINGLE_TEAM)

T = TypeVar("T")


def current_team() -> str:
    return _current.get()


@contextmanager
def using_team(team: str) -> Iterator[str]:
    """Run the block as `team`'s work; the previous team is restored afterwards."""
    token = _current.set(team)
    try:
        yield team
    finally:
        _current.reset(token)


def team_key(team_id: Optional[str], enterprise_id: Optional[str] = None,
             is_enterprise_install: bool = False) -> str:
    """The key a workspace's rows are stored under: its team id, or the enterprise id for an
    org-wide install (one install serving every workspace of the organisation)."""
    if is_enterprise_install and enterprise_id:
        return enterprise_id
    return team_id or enterprise_id or SINGLE_TEAM


def enter_team(team: str) -> None:
    """From here on, the current context's work is `team`'s, with no way back: only for a context
    made for one request (bot.web runs each Slack request in its own copy_context(), and Bolt runs
    its middleware and listener one after the other, not nested, so `using_team` cannot span both)."""
    _current.set(team)


def carry(work: Callable[..., T]) -> Callable[..., T]:
    """`work`, to run in another thread (a pool) as the team that handed it over: context
    variables do not cross threads by themselves."""
    team = current_team()

    @functools.wraps(work)
    def run(*args, **kwargs) -> T:
        with using_team(team):
            return work(*args, **kwargs)

    return run
