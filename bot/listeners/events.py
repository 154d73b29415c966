"""Events: the App Home tab shows what needs attention now."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import App

from bot.checker import LAST_CHECK_KEY
from bot.core.tiers import Tier, level_for
from bot.messages import HomeRow, home_view
from storage import repo
from storage.db import session as open_session

HOME_ROWS = 20


def build_home(ctx) -> dict:
    with open_session(ctx.engine) as session:
        pairs, open_count = repo.open_alert_rows(session, HOME_ROWS)
        thresholds = repo.count_thresholds(session)
        last = repo.get_meta(session, LAST_CHECK_KEY)
    rows = [HomeRow(alert.sku, Tier(alert.tier), alert.available,
                    level_for(Tier(alert.tier), threshold.warning_level, threshold.critical_level),
                    alert.acked_by is not None) for alert, threshold in pairs]
    return home_view(ctx.lang, open_count, thresholds, datetime.fromisoformat(last) if last else None, rows)


def register(app: App, ctx) -> None:
    @app.event("app_home_opened")
    def home_opened(event, client):
        # Events are acknowledged by Bolt before this runs; the work goes to the background pool.
        if event.get("tab", "home") != "home":
            return
        ctx.in_background("publishing the App Home",
                          lambda: client.views_publish(user_id=event["user"], view=build_home(ctx)))
