"""The shell around the threshold maths: reads sales history, plans and campaigns from the
database, runs `bot.core.forecast` / `bot.core.auto_levels`, and stores auto levels.

Used by `/threshold calc|auto|lead`, `/campaign`, the nightly recompute and every alert
(days of cover, stock-out date, suggested reorder, ad guidance).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional, Sequence

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.core import forecast as fc
from bot.core.auto_levels import compute_auto_levels
from storage import repo
from storage.db import session as open_session
from storage.models import Campaign, SkuPlan

log = logging.getLogger(__name__)

AUTO_USER = "auto"
RECOMPUTE_CHUNK = 2000


@dataclass
class SkuForecast:
    """What Stockbot expects of one SKU: demand, its spread, and the supply facts around it."""

    sku: str
    daily: float
    sigma: float
    history_days: int  # in-stock days the forecast rests on
    stockout_days: int  # days left out because the shelf was empty
    lead_days: int
    basis: str
    service: float
    profile: Optional[tuple[float, ...]] = None
    campaigns: list[fc.CampaignWindow] = field(default_factory=list)
    case_pack: Optional[int] = None
    moq: Optional[int] = None
    cover_days: int = fc.DEFAULT_TARGET_COVER_DAYS
    auto: bool = False
    method: Optional[str] = None  # stored description of the last auto recompute


def lead_days_for(settings: Settings, plan: Optional[SkuPlan], warehouses: set[str],
                  overseas_names: frozenset[str] | set[str] = frozenset()) -> int:
    """The SKU's own lead time, else the default for where it is stocked: overseas (named in
    OVERSEAS_WAREHOUSES, or reported so by TikTok Shop) restocks in weeks, domestic in days."""
    if plan is not None and plan.lead_days:
        return plan.lead_days
    return fc.default_lead_days(bool(warehouses & (settings.overseas_warehouses | overseas_names)))


def campaign_windows(campaigns: Sequence[Campaign], sku: str) -> list[fc.CampaignWindow]:
    return [fc.CampaignWindow(c.start, c.end, c.multiplier, c.name or "") for c in campaigns
            if repo.campaign_applies(c, sku)]


def history_window(session: Session, today: date, history_days: int) -> tuple[date, date]:
    """The last `history_days` days of sales: up to yesterday, or up to the last day any sales
    arrived when the feeds have gone quiet (the days after it are unknown, not zero sales)."""
    last = today - timedelta(days=1)
    latest = repo.last_sales_day(session)
    if latest is not None and latest < last:
        last = latest
    return last - timedelta(days=history_days - 1), last


def forecast_for(session: Session, settings: Settings, sku: str, today: date, basis: Optional[str] = None,
                 history_days: int = fc.DEFAULT_HISTORY_DAYS) -> SkuForecast:
    """Forecast one SKU from its last `history_days` full days of sales (yesterday backwards)."""
    plan = repo.get_plan(session, sku)
    basis = basis or (plan.basis if plan and plan.basis else fc.DEFAULT_BASIS)
    first, last = history_window(session, today, history_days)
    sales = repo.sales_by_sku(session, [sku], first, last)[sku]
    # A SKU that started selling 30 days ago has 30 days of history, not 60 days of zeros before it.
    first = min(sales, default=first)
    out_days = {d for d in repo.stockout_days(session, [sku], first, today)[sku] if first <= d <= last}
    history = fc.history_values(sales, first, last, out_days) if sales else []
    values = fc.damp_spikes([units for _, units in history])
    damped = [(day, units) for (day, _), units in zip(history, values)]
    lead = lead_days_for(settings, plan, repo.stock_warehouses(session, [sku])[sku],
                         repo.overseas_warehouse_names(session))
    return SkuForecast(
        sku=sku, daily=fc.daily_demand(values, basis), sigma=fc.demand_sigma(values), history_days=len(values),
        stockout_days=len(out_days), lead_days=lead, basis=basis,
        service=plan.service if plan and plan.service else fc.DEFAULT_SERVICE,
        profile=fc.weekday_profile(damped),
        campaigns=campaign_windows(repo.active_campaigns(session, today), sku),
        case_pack=plan.case_pack if plan else None, moq=plan.moq if plan else None,
        cover_days=(plan.target_cover_days if plan and plan.target_cover_days else fc.DEFAULT_TARGET_COVER_DAYS),
        auto=bool(plan and plan.auto), method=plan.method if plan else None)


def sku_outlook(session: Session, settings: Settings, sku: str, available: int, on_order: int,
                etas: Sequence[Optional[date]], today: date) -> Optional[fc.Outlook]:
    """What an alert or `/stock` says about the days ahead; None without sales to forecast from.

    One cheap query first: most SKUs in a big first check have no history, and the full
    forecast is several more.
    """
    if not repo.has_sales(session, sku, today - timedelta(days=fc.DEFAULT_HISTORY_DAYS)):
        return None
    forecast = forecast_for(session, settings, sku, today)
    if not forecast.history_days:
        return None
    return outlook_for(forecast, available, on_order, min((eta for eta in etas if eta), default=None), today)


def outlook_for(forecast: SkuForecast, available: int, on_order: int, eta: Optional[date],
                today: date) -> fc.Outlook:
    tomorrow = today + timedelta(days=1)
    lead_extra = (fc.expected_demand(forecast.daily, tomorrow, forecast.lead_days + forecast.cover_days,
                                     forecast.profile, forecast.campaigns)
                  - forecast.daily * (forecast.lead_days + forecast.cover_days))
    return fc.Outlook(
        daily=forecast.daily, days_of_cover=fc.days_of_cover(available, forecast.daily),
        stockout_date=fc.stockout_date(today, available, forecast.daily, forecast.profile, forecast.campaigns),
        suggested_qty=fc.suggested_order(forecast.daily, forecast.lead_days, available + on_order,
                                         forecast.cover_days, forecast.case_pack, forecast.moq, lead_extra),
        guidance=fc.ad_guidance(available, forecast.daily, forecast.lead_days, on_order, eta, today),
        lead_days=forecast.lead_days, method=forecast.method if forecast.auto else None)


def describe_method(basis: str, service: float, lead_days: int, history_days: int, campaigns: Sequence[str] = (),
                    seasonal: bool = False) -> str:
    """Stored with the plan and shown in alerts and `/threshold get` (see messages.method_text)."""
    parts = [f"basis={basis}", f"service={service:g}", f"lead={lead_days}", f"days={history_days}"]
    if seasonal:
        parts.append("weekdays=1")
    if campaigns:
        parts.append("campaigns=" + ",".join(campaigns)[:80])
    return ";".join(parts)


@dataclass
class RecomputeReport:
    recomputed: int = 0
    changed: list[str] = field(default_factory=list)
    no_history: list[str] = field(default_factory=list)


def recompute_auto(engine: Engine, settings: Settings, now: datetime, skus: Optional[Sequence[str]] = None,
                   chunk: int = RECOMPUTE_CHUNK) -> RecomputeReport:
    """Recompute warning and critical levels of auto SKUs from their history, in NumPy chunks.

    warning = lead-time demand + z x sigma x sqrt(lead); critical = lead-time demand. A SKU with no
    sales rows at all in the window keeps its level (nothing to learn from yet).
    """
    today = now.date()
    report = RecomputeReport()
    with open_session(engine) as session:
        targets = repo.auto_skus(session, skus)
        campaigns = repo.active_campaigns(session, today)
        overseas = repo.overseas_warehouse_names(session)
        first, last = history_window(session, today, fc.DEFAULT_HISTORY_DAYS)
    days = (last - first).days + 1
    for start in range(0, len(targets), chunk):
        batch = targets[start:start + chunk]
        with open_session(engine) as session:
            plans = repo.plans_for(session, batch)
            sales = repo.sales_by_sku(session, batch, first, last)
            outs = repo.stockout_days(session, batch, first, today)
            warehouses = repo.stock_warehouses(session, batch)
            with_history = [sku for sku in batch if sales[sku]]
            report.no_history.extend(sku for sku in batch if not sales[sku])
            for basis in sorted({plans[sku].basis or fc.DEFAULT_BASIS for sku in with_history}):
                group = [sku for sku in with_history if (plans[sku].basis or fc.DEFAULT_BASIS) == basis]
                _recompute_group(session, settings, group, plans, sales, outs, warehouses, overseas, campaigns,
                                 basis, first, days, now, report)
            session.commit()
    return report


def _recompute_group(session: Session, settings: Settings, group: list[str], plans: dict, sales: dict, outs: dict,
                     warehouses: dict, overseas: set[str], campaigns: Sequence[Campaign], basis: str, first: date,
                     days: int, now: datetime, report: RecomputeReport) -> None:
    today = now.date()
    units = np.zeros((len(group), days))
    stockout = np.zeros((len(group), days), dtype=bool)
    for row, sku in enumerate(group):
        for day, sold in sales[sku].items():
            units[row, (day - first).days] = sold
        # days before the SKU's first sale are not history (as in forecast_for)
        stockout[row, :(min(sales[sku]) - first).days] = True
        for day in outs[sku]:
            offset = (day - first).days
            if 0 <= offset < days:
                stockout[row, offset] = True
    leads = np.array([lead_days_for(settings, plans[sku], warehouses[sku], overseas) for sku in group])
    services = np.array([plans[sku].service or fc.DEFAULT_SERVICE for sku in group])
    tomorrow = today + timedelta(days=1)
    thresholds = repo.thresholds_for(session, group)  # one query per 500 SKUs, not a lookup (and flush) each
    levels = compute_auto_levels(units, leads, services, basis, stockout, first, tomorrow)
    for row, sku in enumerate(group):
        plan: SkuPlan = plans[sku]
        lead, service = int(leads[row]), float(services[row])
        warning, critical = int(levels.warning_level[row]), int(levels.critical_level[row])
        profile = None if levels.profile is None or np.isnan(levels.profile[row, 0]) else tuple(levels.profile[row])
        windows = campaign_windows(campaigns, sku)
        names: tuple[str, ...] = ()
        if windows:  # few SKUs have one: the scalar path adds the campaign days in the lead window
            point = fc.reorder_point(float(levels.daily[row]), lead, fc.Safety(service=service),
                                     float(levels.sigma[row]), tomorrow, profile, windows)
            warning, critical, names = point.warning_level, point.critical_level, point.campaigns
        plan.method = describe_method(basis, service, lead, int(levels.history_days[row]), names, profile is not None)
        plan.computed_at = now
        session.add(plan)
        report.recomputed += 1
        current = thresholds.get(sku)
        if current is None or (current.warning_level, current.critical_level) != (warning, critical):
            repo.save_threshold(session, sku, warning, critical, repo.KEEP, AUTO_USER, now, repo.KEEP,
                                current=current)
            report.changed.append(sku)
