"""Issue 14, point 4: a seeded fuzz run in the suite (bench/fuzz_bench.py runs 10,000 cases).

Random command texts for every slash command and tampered button payloads go through real
signed HTTP to the real app, on the database the suite runs on: no server error, no
traceback, nothing stored that breaks the rules, every answer within Slack's 3 seconds."""

from __future__ import annotations

from tests.fuzz import run_fuzz

CASES = 300


def test_random_commands_and_buttons_break_nothing(start_bot):
    bot = start_bot(threshold_admins=frozenset({"U0ADMIN"}), stock_editors=frozenset({"U0EDITOR"}))
    report = run_fuzz(bot, CASES, seed=14)
    print(report.summary())
    assert report.cases == CASES and report.commands and report.buttons
    assert report.server_errors == 0, report.examples[:10]
    assert report.other_statuses == {}, report.examples[:10]
    assert report.tracebacks == []
    assert report.errors_logged == []
    assert report.bad_rows == []
    assert report.alive_after
    assert max(report.latencies) < 3.0
