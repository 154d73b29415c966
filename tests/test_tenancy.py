"""Workspaces never see or change each other's rows (bot.tenancy, storage.scoping).

Storage level: the same SKU, supplier name or snooze in two teams, and every way the code reads
and writes (ORM queries and session.get, Core statements on a connection, upserts, the check's
candidate query) keeps to the current team's rows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.tenancy import SINGLE_TEAM, carry, using_team
from storage import repo
from storage.db import Session, make_engine
from storage.models import Alert, Episode, Meta, Reorder, SkuSnooze, Stock, Supplier, Threshold
from storage.scoping import ALL_TEAMS

T1, T2 = "T0000ONE", "T0000TWO"


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _stock(engine, sku: str, available: int, warehouse: str = "") -> None:
    with engine.begin() as conn:
        repo.upsert_stock(conn, [{"sku": sku, "warehouse": warehouse, "available": available, "source": "test",
                                  "read_at": repo.utcnow()}])


def _threshold(engine, sku: str, warning: int, critical: int) -> None:
    with Session(engine) as session:
        repo.save_threshold(session, sku, warning, critical, None, "U1", repo.utcnow())
        session.commit()


def test_the_same_sku_lives_independently_in_two_teams(engine):
    for team, (warning, critical, available) in ((T1, (100, 10, 50)), (T2, (7, 3, 900))):
        with using_team(team):
            _threshold(engine, "SKU1", warning, critical)
            _stock(engine, "SKU1", available)
    with using_team(T1), Session(engine) as session:
        assert repo.get_threshold(session, "SKU1").warning_level == 100
        assert [r.available for r in repo.stock_rows(session, "SKU1")] == [50]
        assert repo.list_thresholds(session, "", 1)[1] == 1
        assert [c.sku for c in repo.threshold_history(session, "SKU1")] == ["SKU1"]
    with using_team(T2), Session(engine) as session:
        assert repo.get_threshold(session, "SKU1").warning_level == 7
        assert [r.available for r in repo.stock_rows(session, "SKU1")] == [900]
        assert repo.count_thresholds(session) == 1
    with using_team(T1):  # the check's candidates: T1's SKU1 is below its level, T2's is not
        assert [(c.sku, c.available) for batch in repo.iter_candidates(engine) for c in batch] == [("SKU1", 50)]
        assert [c.sku for batch in repo.iter_candidates(engine, ["SKU1"]) for c in batch] == ["SKU1"]
    with using_team(T2):
        assert [c for batch in repo.iter_candidates(engine) for c in batch] == []
    with using_team(SINGLE_TEAM), Session(engine) as session:  # the single workspace has nothing of either
        assert repo.get_threshold(session, "SKU1") is None
        assert repo.known_skus(session) == []


def test_another_teams_rows_cannot_be_read_changed_or_removed_by_id(engine):
    now = repo.utcnow()
    with using_team(T1), Session(engine) as session:
        episode = Episode(sku="SKU1", open_sku="SKU1", opened_at=now)
        session.add(episode)
        session.flush()
        alert = Alert(episode_id=episode.id, sku="SKU1", tier=1, channel="C1", posted_at=now, available=5,
                      warning_level=10, critical_level=2, read_at=now)
        reorder = Reorder(sku="SKU1", quantity=5, created_by="U1", created_at=now)
        session.add_all([alert, reorder])
        session.commit()
        alert_id, reorder_id, episode_id = alert.id, reorder.id, episode.id
    with using_team(T2), Session(engine) as session:
        assert session.get(Alert, alert_id) is None
        assert session.get(Reorder, reorder_id) is None
        assert repo.open_episode(session, "SKU1") is None
        assert repo.alerts_for_episodes(session, [episode_id]) == {episode_id: []}
        assert session.execute(update(Alert).where(Alert.id == alert_id).values(acked_by="U2")).rowcount == 0
        assert session.execute(delete(Reorder).where(Reorder.id == reorder_id)).rowcount == 0
        session.commit()
        with engine.begin() as conn:  # Core execution on a connection is narrowed too
            assert conn.execute(select(func.count()).select_from(Alert)).scalar() == 0
            assert conn.execute(update(Episode).values(open_sku=None)).rowcount == 0
        # T2 opens its own episode for the same SKU: the one-open-episode rule is per team
        session.add(Episode(sku="SKU1", open_sku="SKU1", opened_at=now))
        session.commit()
    with using_team(T1), Session(engine) as session:
        stored = session.get(Alert, alert_id)
        assert stored is not None and stored.acked_by is None
        assert session.get(Reorder, reorder_id) is not None
        assert repo.open_episode(session, "SKU1").id == episode_id
        session.add(Episode(sku="SKU1", open_sku="SKU1", opened_at=now))  # a second open one in T1: refused
        with pytest.raises(IntegrityError):
            session.commit()
    with Session(engine) as session:  # work about every team says so
        teams = session.exec(select(Episode.team_id).execution_options(**ALL_TEAMS)).all()
        assert sorted(teams) == [T1, T2]


def test_natural_keys_upserts_and_unique_names_are_per_team(engine):
    now = repo.utcnow()
    for team, tier in ((T1, 1), (T2, 2)):
        with using_team(team), Session(engine) as session:
            repo.save_snooze(session, "SKU1", tier, now + timedelta(hours=1), "U1", now)
            repo.set_meta(session, "last_check_at", team)
            session.add(Supplier(name="Acme", email=f"{team}@example.com", lead_days=5, created_by="U1",
                                 created_at=now))
            session.commit()
    for team, tier in ((T1, 1), (T2, 2)):
        with using_team(team), Session(engine) as session:
            assert session.get(SkuSnooze, "SKU1").tier == tier
            assert repo.get_meta(session, "last_check_at") == team
            assert [s.email for s in session.exec(select(Supplier))] == [f"{team}@example.com"]
    with using_team(T2), Session(engine) as session:
        assert repo.end_snooze(session, "SKU1", now)
        session.commit()
    with using_team(T1), Session(engine) as session:
        assert repo.active_snooze(session, "SKU1", now) is not None
        with engine.begin() as conn:
            repo.set_meta_conn(conn, "last_check_at", "again")
        assert repo.get_meta(session, "last_check_at") == "again"
    with using_team(T2), Session(engine) as session:
        assert repo.get_meta(session, "last_check_at") == T2
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Meta).execution_options(**ALL_TEAMS)).one() == 2


def test_stock_history_prune_and_work_handed_to_another_thread_keep_their_team(engine):
    import threading

    with using_team(T1):
        _stock(engine, "SKU1", 5)
    with using_team(T2):
        _stock(engine, "SKU1", 6)
        seen = []
        worker = threading.Thread(target=carry(lambda: seen.append(_available(engine, "SKU1"))))
    worker.start()
    worker.join()
    assert seen == [6]
    with using_team(T2), engine.begin() as conn:  # everything is "old": each key keeps its last row
        assert repo.prune_stock_history(conn, repo.utcnow().date() + timedelta(days=5)) == 0
    with using_team(T1), Session(engine) as session:
        assert repo.first_stock_day(session, "SKU1") == repo.utcnow().date()
        assert [r.available for r in session.exec(select(Stock))] == [5]


def _available(engine, sku: str) -> int:
    with Session(engine) as session:
        return sum(row.available for row in repo.stock_rows(session, sku))


def test_threshold_keys_are_led_by_the_team():
    # The check walks thresholds and stock in key order within one team: the team leads both keys.
    assert [c.name for c in Threshold.__table__.primary_key.columns] == ["team_id", "sku"]
    assert [c.name for c in Stock.__table__.primary_key.columns] == ["team_id", "sku", "warehouse"]
