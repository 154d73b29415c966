"""The shell around `bot.charts`: gathers a SKU's chart from the database, renders it and shares
it in Slack — in a new alert's thread (in the background, so a check never waits for a chart)
and for `/stock SKU chart` (right away, after the command's ack).

A chart is a courtesy on top of the alert: when it cannot be drawn or uploaded, that is logged
and the alert stands as posted.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta
from enum import Enum
from typing import Optional

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import messages, planning
from bot.charts import HISTORY_DAYS, ReorderMark, StockChart, render_stock_chart, worth_drawing
from bot.config import Settings
from bot.core.tiers import is_late
from bot.notifier import NotifyError
from bot.team_parts import OfCurrentTeam, TeamParts
from bot.tenancy import current_team, using_team
from storage import repo
from storage.db import session as open_session
from storage.models import Alert

log = logging.getLogger(__name__)

IDLE_SECONDS = 30  # the worker thread ends after this long without work; the next alert starts one


class ChartOutcome(Enum):
    POSTED = "posted"
    UNKNOWN_SKU = "unknown_sku"  # no stock reading at all
    NOTHING_TO_DRAW = "nothing_to_draw"


def chart_for(session: Session, settings: Settings, sku: str, today: date, available: Optional[int] = None,
              warning_level: Optional[int] = None, critical_level: Optional[int] = None,
              warehouse: Optional[str] = None, levels_given: bool = False) -> Optional[StockChart]:
    """The SKU's chart data as of `today`; None when Stockbot has no stock reading for it.

    An alert passes what it said (available, levels, watched warehouse); `/stock SKU chart` takes
    them from the SKU's threshold and stock now.
    """
    rows = repo.stock_rows(session, sku)
    if not rows:
        return None
    if not levels_given:
        threshold = repo.get_threshold(session, sku)
        if threshold is not None:
            warning_level, critical_level, warehouse = (threshold.warning_level, threshold.critical_level,
                                                        threshold.warehouse)
    watched = [row for row in rows if warehouse is None or row.warehouse == warehouse]
    if available is None:
        available = sum(row.available for row in watched)
    history = repo.stock_history(session, sku, today - timedelta(days=HISTORY_DAYS - 1), today - timedelta(days=1),
                                 warehouse)
    reorders = repo.open_reorders(session, [sku])[sku]
    on_order = sum(r.quantity for r in reorders) + sum(row.on_order or 0 for row in watched)
    outlook = planning.sku_outlook(session, settings, sku, available, on_order, [r.eta for r in reorders], today)
    return StockChart(
        sku=sku, today=today, available=available, history=history, warning_level=warning_level,
        critical_level=critical_level, daily=outlook.daily if outlook else None,
        stockout_date=outlook.stockout_date if outlook else None,
        reorders=tuple(ReorderMark(r.eta, r.quantity, is_late(r.eta, today)) for r in reorders if r.eta))


class ChartPoster(OfCurrentTeam):
    """Renders and uploads stock charts; alert charts go through one background worker."""

    def __init__(self, engine: Engine, parts: TeamParts) -> None:
        self.engine = engine
        self.parts = parts
        self._pending: list[tuple[str, int]] = []  # (team, alert id), oldest first
        self._busy = False
        self._changed = threading.Condition()
        self._worker: Optional[threading.Thread] = None

    # ---- alert threads (background) ------------------------------------------------------

    def worth_a_try(self, session: Session, alert: Alert, outlook_daily: Optional[float], has_reorder_eta: bool) -> bool:
        """Cheap test in the check itself, so the worker only gets alerts with something to draw:
        a forecast, a reorder with an ETA, or stock history from before today."""
        if (outlook_daily or 0) > 0 or has_reorder_eta:
            return True
        first = repo.first_stock_day(session, alert.sku)
        return first is not None and first < alert.posted_at.date()

    def for_alert(self, alert_id: int) -> None:
        """Queue the chart for a just-posted alert; returns at once."""
        with self._changed:
            self._pending.append((current_team(), alert_id))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._drain, daemon=True, name="stock-charts")
                self._worker.start()
            self._changed.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every queued chart is posted (or given up); False on timeout. For `stockbot
        check`, which exits right after its check, and for tests."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _drain(self) -> None:
        while True:
            with self._changed:
                if not self._pending and not self._changed.wait_for(lambda: self._pending, IDLE_SECONDS):
                    self._worker = None
                    return
                team, alert_id = self._pending.pop(0)
                self._busy = True
            try:
                with using_team(team):  # drawn and uploaded as the work of the team that queued it
                    self.post_for_alert(alert_id)
            except Exception:  # a chart must never take the worker (or an alert) down with it
                log.exception("stock chart for alert %s failed", alert_id)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def post_for_alert(self, alert_id: int) -> bool:
        """Draw and upload one alert's chart into its thread. False: nothing drawn or posted."""
        with open_session(self.engine) as session:
            alert = session.get(Alert, alert_id)
            if alert is None or not alert.ts:
                return False
            chart = chart_for(session, self.settings, alert.sku, alert.posted_at.date(), alert.available,
                              alert.warning_level, alert.critical_level, alert.warehouse, levels_given=True)
        if chart is None or not worth_drawing(chart):
            return False
        try:
            self._upload(chart, alert.channel, thread_ts=alert.ts, with_comment=False)
        except NotifyError as exc:
            log.error("Slack refused the stock chart for %s in %s: %s", alert.sku, alert.channel, exc)
            return False
        return True

    # ---- on demand -------------------------------------------------------------------------

    def post_now(self, sku: str, channel: str) -> ChartOutcome:
        """`/stock SKU chart`: draw and upload into `channel`. Raises NotifyError when Slack refuses."""
        with open_session(self.engine) as session:
            chart = chart_for(session, self.settings, sku, repo.utcnow().date())
        if chart is None:
            return ChartOutcome.UNKNOWN_SKU
        if not worth_drawing(chart):
            return ChartOutcome.NOTHING_TO_DRAW
        self._upload(chart, channel, thread_ts=None, with_comment=True)
        return ChartOutcome.POSTED

    def _upload(self, chart: StockChart, channel: str, thread_ts: Optional[str], with_comment: bool) -> None:
        lang = self.settings.language
        png = render_stock_chart(chart, lang)
        share = messages.chart_upload(lang, chart.sku, chart.available, chart.warning_level, chart.critical_level,
                                      chart.stockout_date, with_comment)
        self.notifier.upload(channel, share.filename, png, share.title, thread_ts=thread_ts, comment=share.comment,
                             alt_text=share.alt_text)
