"""Every ORM statement reads and changes the current team's rows only (bot.tenancy).

One engine-level hook, so no query can forget it: an ORM SELECT, UPDATE or DELETE on any
team-owned model (storage.models.TeamScoped), wherever it is executed (a Session, or a
Connection as the check's streamed queries are), gets `team_id = current_team()` for every
appearance of those models in it: joins, aliases and subqueries included
(with_loader_criteria). INSERTs need nothing: the column default is the current team.

Not covered, so written with an explicit team where they occur: statements on plain tables
(`Model.__table__`) and text SQL. Work that is deliberately about every team (the outbox
sender finding what is owed, maintenance pruning) says so with the execution option
ALL_TEAMS.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import with_loader_criteria

from bot.tenancy import current_team
from storage.models import TeamScoped

ALL_TEAMS = {"all_teams": True}  # .execution_options(**ALL_TEAMS): this statement is not one team's


def _is_orm(statement) -> bool:
    return getattr(statement, "_propagate_attrs", None) and statement._propagate_attrs.get(
        "compile_state_plugin") == "orm"


@event.listens_for(Engine, "before_execute", retval=True)
def _one_team_only(conn, statement, multiparams, params, execution_options):
    if not _is_orm(statement) or getattr(statement, "is_insert", False) or not hasattr(statement, "options"):
        return statement, multiparams, params
    if execution_options.get("all_teams") or conn.get_execution_options().get("all_teams") \
            or statement.get_execution_options().get("all_teams"):
        return statement, multiparams, params
    team = current_team()
    # The lambda's closure variable becomes a bound parameter: one cached statement serves every team.
    return statement.options(with_loader_criteria(TeamScoped, lambda cls: cls.team_id == team,
                                                  include_aliases=True)), multiparams, params
