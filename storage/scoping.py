"""Every ORM statement reads and changes the current team's rows only (bot.tenancy).

One engine-level hook, so no query can forget it: an ORM SELECT, UPDATE or DELETE on any
team-owned model (storage.models.TeamScoped), wherever it is executed (a Session, or a
Connection as the check's streamed queries are), gets `team_id = current_team()` for every
appearance of those models in it: joins, aliases and subqueries included
(with_loader_criteria). INSERTs need nothing: the column default is the current team.

Not covered, so written with an explicit team where they occur: statements on plain tables
(`Model.__table__`), text SQL, and statements that name the team themselves (SCOPED_BY_HAND).
Work that is deliberately about every team (the outbox sender finding what is owed, the
process's metrics) says so with the execution option ALL_TEAMS.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import with_loader_criteria

from bot.tenancy import current_team
from storage.models import TeamScoped

ALL_TEAMS = {"all_teams": True}  # .execution_options(**ALL_TEAMS): this statement is not one team's
# .execution_options(**SCOPED_BY_HAND): this statement names the current team itself, where the plan
# depends on it (the check's candidate query); the hook would only repeat the conditions.
SCOPED_BY_HAND = {"team_scoped_by_hand": True}


def _is_orm(statement) -> bool:
    return getattr(statement, "_propagate_attrs", None) and statement._propagate_attrs.get(
        "compile_state_plugin") == "orm"


@event.listens_for(Engine, "before_execute", retval=True)
def _one_team_only(conn, statement, multiparams, params, execution_options):
    if not _is_orm(statement) or getattr(statement, "is_insert", False) or not hasattr(statement, "options"):
        return statement, multiparams, params
    options = {**conn.get_execution_options(), **statement.get_execution_options(), **execution_options}
    if options.get("all_teams") or options.get("team_scoped_by_hand"):
        return statement, multiparams, params
    team = current_team()
    # The lambda's closure variable becomes a bound parameter: one cached statement serves every team.
    return statement.options(with_loader_criteria(TeamScoped, lambda cls: cls.team_id == team,
                                                  include_aliases=True)), multiparams, params
