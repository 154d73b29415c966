"""Hostile input for the real app (issue 14, point 4): random command texts for every slash
command and tampered button payloads, sent as signed HTTP requests; then the figures.

Shared by tests/test_fuzz.py (a small seeded run in the suite) and bench/fuzz_bench.py
(the full 10,000 cases). Nothing here is mocked: the cases go through waitress, the Slack
guard, Bolt, the listeners and the database; the verdicts read the HTTP answers, the
loopback Slack, the log and the tables.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlmodel import select

from bot.core.commands import MAX_NOTE_LENGTH, MAX_QUANTITY
from bot.core.text import clean_text
from bot.messages import ACTION_ACK, ACTION_APPLY_THRESHOLD, ACTION_REORDERED
from bot.sources import sku_problem
from storage.db import Session
from storage.models import Campaign, Reorder, SkuPlan, Stock, Threshold

COMMANDS = ("/threshold", "/stock", "/reorder", "/campaign")
WORDS = ("set", "get", "list", "remove", "history", "help", "calc", "auto", "lead", "off", "all", "import", "sales",
         "status", "cancel", "add", "critical", "channel", "warehouse", "eta", "note", "daily", "safety", "service",
         "basis", "days", "pack", "moq", "cover", "page", "x3", "7d", "avg", "p90", "DRESS-*", "销量", "帮助")
HOSTILE = (
    "<!channel>", "<!here>", "<!everyone>", "<@U0ADMIN>", "<#C0ALERTS|alerts>",
    "<https://evil.example/login|Reorder portal>",
    "&amp;", "&lt;b&gt;", "*bold*", "`code`", "~strike~", "> quote",
    "\x00", "NUL\x00SKU", "\x1b[31m", "\x7f", "\u0085", "\ud800", "\udfff",
    "مرحبا بالعالم", "\u202egnp.exe", "\u2066isolate\u2069", "שלום", "连衣裙-红-XL", "１２３４", "１，５００", "－５",
    "1e309", "-1e309", "inf", "-inf", "nan", "NaN", "1e3", "0x10", "9" * 400, "-0", "+5", "1,5,0,0", "1.5", "٣٤٥",
    "2026-02-30", "9999-99-99", "0000-00-00", "2026/13/01", "1970-01-01", "2999-12-31", "20/11/2026", "yesterday",
    "99999d", "-7d", "0d", "0%", "101%", "99.9999%", "x0", "x1e309", "x-2", "page 0", "page 99999999999",
    "'; DROP TABLE threshold; --", "%s%s%n", "{text}", "{0}", "\\", "\"", "'", "‮", "🧨", "🇨🇳",
)
SAFE_SKUS = ("SKU1", "SKU2", "FZ-1", "连衣裙-红-XL", "A/B:C+D#(1)")


def random_token(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.25:
        return rng.choice(WORDS)
    if roll < 0.45:
        return rng.choice(SAFE_SKUS)
    if roll < 0.6:
        return str(rng.choice([0, 1, 5, 99, 1500, 750, MAX_QUANTITY, MAX_QUANTITY + 1, 10 ** 19]))
    if roll < 0.9:
        return rng.choice(HOSTILE)
    # random code points, any plane (surrogates included: they arrive percent-encoded as garbage bytes)
    return "".join(chr(rng.randrange(0x20, 0x30000)) for _ in range(rng.randrange(1, 12)))


def random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.03:
        return ""
    if roll < 0.08:  # a 10 kB string
        return rng.choice(HOSTILE + SAFE_SKUS) * (10_000 // 8) + rng.choice(("", " 5", " x"))
    if roll < 0.12:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 200)))
    tokens = [rng.choice(WORDS[:25])] + [random_token(rng) for _ in range(rng.randrange(0, 8))]
    separator = rng.choice((" ", " ", " ", "\t", "\u3000", "  ", "\n"))
    return separator.join(tokens)


def random_action(rng: random.Random, alert_ids: list[int]) -> tuple[str, str]:
    action_id = rng.choice((ACTION_ACK, ACTION_REORDERED, ACTION_APPLY_THRESHOLD, ACTION_ACK, "unknown_action",
                            "", "x" * 300, "<!channel>"))
    roll = rng.random()
    if action_id == ACTION_APPLY_THRESHOLD or roll < 0.2:
        value = json.dumps({"sku": rng.choice(SAFE_SKUS + HOSTILE),
                            "warning": rng.choice([100, -1, 1e309, "abc", None, MAX_QUANTITY * 10, 2 ** 70, 1.5]),
                            "critical": rng.choice([50, -5, 1e309, "x", None, 10 ** 30]),
                            rng.choice(("extra", "sku")): rng.choice(HOSTILE)})
    elif roll < 0.5 and alert_ids:
        value = str(rng.choice(alert_ids))
    else:
        value = rng.choice(("0", "-1", "999999999", "1e309", "abc", "", "null", "[]", "{}", "1.0", "\x00",
                            str(2 ** 64), *HOSTILE))
    return action_id, value


# ---- verdicts --------------------------------------------------------------------------------

class LogWatch(logging.Handler):
    """Every log record at WARNING or above, and every traceback, while the run lasts."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.tracebacks: list[str] = []
        self.errors: list[str] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            if record.exc_info or "Traceback" in record.getMessage():
                self.tracebacks.append(f"{record.name}: {record.getMessage()[:200]}")
            elif record.levelno >= logging.ERROR:
                self.errors.append(f"{record.name}: {record.getMessage()[:200]}")


def _text_ok(text: Optional[str], limit: Optional[int] = None) -> bool:
    return text is None or (clean_text(text, keep_newlines=True) == text and (limit is None or len(text) <= limit))


def rule_violations(engine) -> list[str]:
    """Stored rows that break the documented rules (README: SKUs, levels, quantities, text)."""
    bad: list[str] = []
    with Session(engine) as session:
        for row in session.exec(select(Threshold)).all():
            if sku_problem(row.sku) or not 0 <= row.critical_level <= row.warning_level <= MAX_QUANTITY:
                bad.append(f"threshold {row.sku!r} {row.warning_level}/{row.critical_level}")
            if row.warehouse is not None and (sku_problem(row.warehouse) or not _text_ok(row.warehouse)):
                bad.append(f"threshold warehouse {row.warehouse!r}")
        for row in session.exec(select(Stock)).all():
            if sku_problem(row.sku) or not 0 <= row.available <= MAX_QUANTITY or (row.oversold or 0) < 0 \
                    or not _text_ok(row.name) or not _text_ok(row.warehouse):
                bad.append(f"stock {row.sku!r}@{row.warehouse!r} {row.available}")
        for row in session.exec(select(Reorder)).all():
            if sku_problem(row.sku) or not 0 < row.quantity <= MAX_QUANTITY or not _text_ok(row.note, MAX_NOTE_LENGTH):
                bad.append(f"reorder {row.sku!r} {row.quantity} {row.note!r:.60}")
        for row in session.exec(select(Campaign)).all():
            target = row.target[:-1] if row.target.endswith("*") and row.target != "*" else row.target
            if (target != "*" and sku_problem(target)) or not math.isfinite(row.multiplier) or row.multiplier <= 0 \
                    or row.start > row.end or not _text_ok(row.name, 100):
                bad.append(f"campaign {row.target!r} x{row.multiplier} {row.name!r:.60}")
        for row in session.exec(select(SkuPlan)).all():
            if sku_problem(row.sku) or any(value is not None and value < 0 for value in (
                    row.lead_days, row.case_pack, row.moq, row.target_cover_days)) \
                    or (row.service is not None and not 0 < row.service < 1):
                bad.append(f"plan {row.sku!r}")
    return bad


@dataclass
class FuzzReport:
    cases: int = 0
    commands: int = 0
    buttons: int = 0
    server_errors: int = 0  # HTTP 5xx, or a reply saying something went wrong on our side
    other_statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds from request to Slack's answer (the ack)
    tracebacks: list[str] = field(default_factory=list)
    errors_logged: list[str] = field(default_factory=list)
    bad_rows: list[str] = field(default_factory=list)
    alive_after: bool = False
    examples: list[str] = field(default_factory=list)  # the first few failing cases, for the log

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else 0.0

    def summary(self) -> str:
        return (f"cases {self.cases} ({self.commands} commands, {self.buttons} buttons) · 5xx/internal errors "
                f"{self.server_errors} · tracebacks {len(self.tracebacks)} · bad rows {len(self.bad_rows)} · "
                f"alive after: {self.alive_after} · reply p50 {self.percentile(0.5) * 1000:.1f} ms, "
                f"p99 {self.percentile(0.99) * 1000:.1f} ms, max {max(self.latencies, default=0) * 1000:.1f} ms")


def prepare(bot) -> list[int]:
    """A SKU with a level, stock and an open alert, so buttons can name real alerts too."""
    bot.ask("/threshold", "set SKU1 100")
    bot.ask("/stock", "set SKU1 5")
    bot.settle()
    from storage.models import Alert

    with Session(bot.ctx.engine) as session:
        return [alert.id for alert in session.exec(select(Alert)).all()]


INTERNAL_ERROR_MARKERS = ("something went wrong on our side", "系统出错")


def run_fuzz(bot, cases: int, seed: int, settle_every: int = 50,
             progress: Optional[Callable[[int], None]] = None) -> FuzzReport:
    """Send `cases` random commands and button presses to the running bot; collect the figures."""
    rng = random.Random(seed)
    report = FuzzReport()
    watch = LogWatch()
    root = logging.getLogger()
    root.addHandler(watch)
    alert_ids = prepare(bot)
    users = ("U0BUYER", "U0ADMIN", "U0EDITOR", "<!channel>", "")
    try:
        for number in range(cases):
            user = rng.choice(users)
            if rng.random() < 0.75:
                # A form body is bytes: a lone surrogate cannot be in it (only JSON can carry one: buttons do).
                command = rng.choice(COMMANDS)
                text = random_text(rng).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
                started = time.perf_counter()
                result = bot.command(command, text, user=user)
                report.commands += 1
                label = f"{command} {text[:80]!r}"
            else:
                action_id, value = random_action(rng, alert_ids)
                started = time.perf_counter()
                result = bot.action(action_id, value, user=user)
                report.buttons += 1
                label = f"button {action_id[:30]!r} {value[:80]!r}"
            report.latencies.append(time.perf_counter() - started)
            report.cases += 1
            if result.status >= 500 or any(marker in result.body for marker in INTERNAL_ERROR_MARKERS):
                report.server_errors += 1
                report.examples.append(f"{result.status} {label}")
            elif result.status != 200:
                report.other_statuses[result.status] = report.other_statuses.get(result.status, 0) + 1
                report.examples.append(f"{result.status} {label}")
            if settle_every and number % settle_every == settle_every - 1:
                bot.settle()
                if progress:
                    progress(number + 1)
        bot.settle()
        time.sleep(0.2)
        bot.settle()
    finally:
        root.removeHandler(watch)
    internal = [call for call in bot.slack.of("response_url")
                if any(marker in str(call.params.get("text", "")) for marker in INTERNAL_ERROR_MARKERS)]
    report.server_errors += len(internal)
    report.examples += [f"internal error reply: {call.path}" for call in internal[:5]]
    report.tracebacks, report.errors_logged = watch.tracebacks, watch.errors
    report.bad_rows = rule_violations(bot.ctx.engine)
    reply = bot.ask("/threshold", "get SKU1")
    report.alive_after = "SKU1" in reply and bot.checker.run_check() is not None
    return report
