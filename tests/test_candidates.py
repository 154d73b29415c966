"""The checker's candidate query on a real database: range paging must not change the answer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage import repo
from storage.db import make_engine
from storage.db import session as open_session
from storage.models import Episode

READ_AT = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def load(engine, levels: dict[str, int], stock: dict[str, list[int]], episodes=()) -> None:
    with open_session(engine) as session:
        for sku, warning in levels.items():
            repo.save_threshold(session, sku, warning, warning // 2, None, "U0TEST", READ_AT)
        for sku in episodes:
            session.add(Episode(sku=sku, open_sku=sku, opened_at=READ_AT))
        session.commit()
    rows = [{"sku": sku, "warehouse": f"WH{i}", "available": quantity, "name": f"name of {sku}",
             "source": "test", "read_at": READ_AT + timedelta(minutes=i)}
            for sku, quantities in stock.items() for i, quantity in enumerate(quantities)]
    with engine.begin() as conn:
        repo.upsert_stock(conn, rows)


def found(engine, **kwargs) -> list[repo.Candidate]:
    batches = list(repo.iter_candidates(engine, **kwargs))
    assert all(batches), "no empty batches are handed to the checker"
    return [candidate for batch in batches for candidate in batch]


def test_candidates_are_below_warning_or_have_an_open_episode(engine):
    load(engine,
         levels={"A-1": 100, "A-2": 100, "B-1": 100, "b-1": 100, "连衣裙-红-XL": 10, "Z-9": 50},
         stock={"A-1": [60, 40], "A-2": [60, 41], "B-1": [0], "b-1": [500], "连衣裙-红-XL": [3], "Z-9": [80]},
         episodes=["Z-9"])  # Z-9 is above its level now but its episode is open: it may have recovered
    candidates = {c.sku: c for c in found(engine)}
    assert sorted(candidates) == sorted(["A-1", "B-1", "Z-9", "连衣裙-红-XL"])
    a1 = candidates["A-1"]
    assert (a1.available, a1.warning_level, a1.critical_level, a1.episode_id) == (100, 100, 50, None)
    assert a1.name == "name of A-1"
    assert a1.read_at == READ_AT  # the oldest read over its warehouses: the total is as old as that
    assert candidates["Z-9"].episode_id is not None and candidates["Z-9"].available == 80


def test_a_warehouse_threshold_watches_that_warehouse_only(engine):
    load(engine, levels={"W-1": 100, "W-2": 100}, stock={"W-1": [500, 40], "W-2": [500, 40]})
    with open_session(engine) as session:
        threshold = repo.get_threshold(session, "W-1")
        threshold.warehouse = "WH1"  # the second warehouse (40 units) is the one W-1 watches
        session.add(threshold)
        session.commit()
    candidates = {c.sku: c for c in found(engine)}
    assert sorted(candidates) == ["W-1"]  # W-2's total (540) is above its level
    assert (candidates["W-1"].available, candidates["W-1"].warehouse) == (40, "WH1")


def test_on_order_reported_by_the_source_is_summed(engine):
    load(engine, levels={"O-1": 100}, stock={"O-1": [10, 20]})
    with engine.begin() as conn:
        repo.upsert_stock(conn, [{"sku": "O-1", "warehouse": "WH0", "available": 10, "on_order": 300,
                                  "source": "push", "read_at": READ_AT}])
        # a later row without on_order keeps what was reported before
        repo.upsert_stock(conn, [{"sku": "O-1", "warehouse": "WH0", "available": 5, "source": "push",
                                  "read_at": READ_AT}])
    [candidate] = found(engine)
    assert (candidate.available, candidate.source_on_order) == (25, 300)


@pytest.mark.parametrize("span, batch_size", [(1, 1), (2, 3), (3, 2), (7, 1000), (1000, 1000)])
def test_range_paging_finds_the_same_candidates_once_each(engine, span, batch_size):
    levels = {f"SKU-{i:03d}": 50 for i in range(40)}
    stock = {sku: [i % 3 * 30, 1] for i, sku in enumerate(levels)}  # every third SKU is above its level
    load(engine, levels, stock, episodes=["SKU-002", "SKU-039"])
    expected = sorted({sku for i, sku in enumerate(levels) if i % 3 != 2} | {"SKU-002", "SKU-039"})
    candidates = found(engine, span=span, batch_size=batch_size)
    assert [c.sku for c in candidates] == expected
    assert max(len(batch) for batch in repo.iter_candidates(engine, span=span, batch_size=batch_size)) <= batch_size


def test_immediate_check_looks_up_only_the_given_skus_in_bounded_batches(engine):
    levels = {f"P-{i:04d}": 10 for i in range(2500)}
    load(engine, levels, {sku: [0] for sku in levels})
    wanted = [f"P-{i:04d}" for i in range(0, 2500, 2)] + ["P-0000", "NOT-A-SKU"]
    batches = list(repo.iter_candidates(engine, skus=wanted, batch_size=500))
    assert max(len(batch) for batch in batches) <= 500
    assert sorted(c.sku for batch in batches for c in batch) == [f"P-{i:04d}" for i in range(0, 2500, 2)]


def test_an_empty_catalogue_has_no_candidates(engine):
    assert found(engine) == []
    assert found(engine, skus=["SKU123"]) == []


def test_an_older_database_gains_new_columns_and_keeps_its_rows(tmp_path):
    """Upgrading adds nullable columns in place: thresholds set with an older version survive."""
    import sqlite3

    from storage.db import init_db

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the threshold table as the first release created it
        conn.execute("CREATE TABLE threshold (sku VARCHAR(64) NOT NULL PRIMARY KEY, warning_level INTEGER NOT NULL,"
                     " critical_level INTEGER NOT NULL, channel VARCHAR(32), updated_by VARCHAR(32) NOT NULL,"
                     " updated_at DATETIME NOT NULL)")
        conn.execute("INSERT INTO threshold VALUES ('SKU123', 1500, 750, NULL, 'U0OLD', '2026-11-01 00:00:00.000000')")
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with open_session(engine) as session:
        kept = repo.get_threshold(session, "SKU123")
        assert (kept.warning_level, kept.critical_level, kept.warehouse) == (1500, 750, None)
    init_db(engine)  # running it again changes nothing
    engine.dispose()
