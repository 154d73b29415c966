"""The candidate query's plan: every large table read once per check.

SQLite walks the catalogue in key ranges, each bounded on every large table (a regression to
bounding only threshold.sku made Postgres, when it used ranges too, read the whole stock table
once per range: a check that grew quadratically). Postgres streams one query in one pass.
The answers were the same either way, so only the plan shows it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from storage import repo
from storage.db import make_engine
from storage.models import Threshold

NOW = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)
SKUS = 20_000  # enough rows that an index range is clearly cheaper than reading the table


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    sku = [f"SKU-{i:05d}" for i in range(SKUS)]
    with engine.begin() as conn:
        conn.execute(Threshold.__table__.insert(), [
            {"sku": s, "warning_level": 50, "critical_level": 25, "updated_by": "U0TEST", "updated_at": NOW}
            for s in sku])
        repo.upsert_stock(conn, [{"sku": s, "warehouse": w, "available": 10 if i % 100 == 0 else 400,
                                  "source": "test", "read_at": NOW} for i, s in enumerate(sku) for w in ("A", "B")])
        conn.execute(text("ANALYZE"))  # what autovacuum / a live install's statistics would say
    yield engine
    engine.dispose()


def range_plan(engine, lower: str, upper: str) -> tuple[str, str]:
    """The plan of one range's query, and the jit setting it runs under."""
    query = repo.candidate_query(lower, upper)
    with engine.connect() as conn:
        repo.plan_range(conn)  # the settings iter_candidates runs each range with
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name != "postgresql":
            return "\n".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)), ""
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
        return plan, conn.exec_driver_sql("SHOW jit").scalar()


def stock_scan(plan: str) -> str:
    """The main join's stock scan (the first one) and its conditions, up to the next plan node."""
    lines = plan.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(" stock") or " stock  (" in line)
    end = next((i for i in range(start + 1, len(lines)) if "->" in lines[i]), len(lines))
    return "\n".join(lines[start:end])


def test_postgres_reads_stock_once_in_one_streamed_query(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite walks key ranges: the next test")
    with engine.connect() as conn, conn.begin():
        repo.plan_range(conn, repo.RANGE_SETTINGS[:1])  # what iter_candidates runs the check under
        sql = str(repo.candidate_query().compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + sql))
        assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
    # the join's stock scan (the first one; the others are the few candidates' detail lookups)
    # runs once and reads every stock row once (two warehouses per SKU)
    scan = next(line for line in plan.splitlines() if "Scan" in line and " on stock " in line)
    assert "loops=1)" in scan and f"rows={2 * SKUS} " in scan, plan
    found = [c.sku for batch in repo.iter_candidates(engine, batch_size=37) for c in batch]
    assert found == [f"SKU-{i:05d}" for i in range(0, SKUS, 100)]


def test_a_range_reads_only_its_own_stock_rows(engine):
    # A quarter of the catalogue: large enough that reading all stock once could look cheap
    # to the planner (what the per-range full scans were), as the check's 50 000-SKU ranges do.
    plan, jit = range_plan(engine, "SKU-10000", "SKU-15000")
    if engine.dialect.name == "postgresql":
        scan = stock_scan(plan)
        assert "Seq Scan" not in scan and "Index" in scan, plan
        # Bounded on both ends by the range's keys, not probed once per threshold or read in full.
        assert "(sku)::text > 'SKU-10000'::text" in scan and "(sku)::text <= 'SKU-15000'::text" in scan, plan
        assert jit == "off"
    else:
        assert not any(line.startswith("SCAN stock") for line in plan.splitlines()), plan
        assert "SEARCH stock USING INDEX" in plan, plan
    # and the answer is right: every 100th SKU is below its level
    found = [c.sku for batch in repo.iter_candidates(engine, span=5000) for c in batch]
    assert found == [f"SKU-{i:05d}" for i in range(0, SKUS, 100)]
