"""The shell around the threshold maths: reads sales history, plans and campaigns from the
database, runs `bot.core.forecast` / `bot.core.auto_levels`, and stores auto levels.

Used by `/threshold calc|auto|lead`, `/campaign`, the nightly recompute and every alert
(days of cover, stock-out date, suggested reorder, ad guidance).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Optional, Sequence

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import suppliers
from bot.config import Settings
from bot.core import demand as dm
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
    history_days: int  # days of sales history the forecast rests on (from the first sale)
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
    # levels by demand class (basis "class"): None with the other bases
    levels: Optional[dm.SkuLevels] = None


def lead_days_for(settings: Settings, plan: Optional[SkuPlan], warehouses: set[str],
                  overseas_names: frozenset[str] | set[str] = frozenset(),
                  supplier_lead: Optional[int] = None) -> int:
    """The SKU's own lead time, else its supplier's (bot.suppliers), else the default for where
    it is stocked: overseas (named in OVERSEAS_WAREHOUSES, or reported so by TikTok Shop)
    restocks in weeks, domestic in days."""
    if plan is not None and plan.lead_days:
        return plan.lead_days
    if supplier_lead:
        return supplier_lead
    # The workspace's defaults (`/stockbot config lead-days`), the core's own unless changed.
    overseas = bool(warehouses & (settings.overseas_warehouses | overseas_names))
    return settings.lead_days_overseas if overseas else settings.lead_days_domestic


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
                 history_days: Optional[int] = None, spikes: Optional[str] = None,
                 lead_days: Optional[int] = None, similar: bool = True) -> SkuForecast:
    """Forecast one SKU from its sales history up to yesterday: the past year for levels by demand
    class, 90 days for the other bases (or `history_days`). A day the shelf was empty counts what
    it sold: leaving it out drops exactly the spike days that emptied it. `similar=False` skips
    asking a new SKU's code family (a prefix query): alerts read how the stored level was set."""
    plan = repo.get_plan(session, sku)
    # The SKU's supplier's terms stand in for the lead time, MOQ and pack the SKU has none of its own of.
    bought = suppliers.supplier_for(session, sku)
    terms = bought.supplier if bought is not None else None
    basis = basis or (plan.basis if plan and plan.basis else fc.DEFAULT_BASIS)
    days = history_days or (dm.HISTORY_DAYS if basis == fc.CLASS_BASIS else fc.DEFAULT_HISTORY_DAYS)
    first, last = history_window(session, today, days)
    sales = repo.sales_by_sku(session, [sku], first, last)[sku]
    lead = lead_days or lead_days_for(settings, plan, repo.stock_warehouses(session, [sku])[sku],
                                      repo.overseas_warehouse_names(session), terms.lead_days if terms else None)
    service = plan.service if plan and plan.service else fc.DEFAULT_SERVICE
    campaigns = campaign_windows(repo.active_campaigns(session, today), sku)
    common = dict(sku=sku, lead_days=lead, basis=basis, service=service, campaigns=campaigns,
                  case_pack=(plan.case_pack if plan else None) or (terms.pack if terms else None),
                  moq=(plan.moq if plan else None) or (terms.moq if terms else None),
                  cover_days=(plan.target_cover_days if plan and plan.target_cover_days
                              else fc.DEFAULT_TARGET_COVER_DAYS),
                  auto=bool(plan and plan.auto), method=plan.method if plan else None)
    if not sales:
        return SkuForecast(daily=0.0, sigma=0.0, history_days=0, **common)
    # A SKU that started selling 30 days ago has 30 days of history, not 60 days of zeros before it.
    start = min(sales)
    if basis == fc.CLASS_BASIS:
        spikes = spikes or (plan.spikes if plan and plan.spikes else dm.SPIKE_MODES[0])
        units = np.array([[float(sales.get(start + timedelta(days=i), 0)) for i in range((last - start).days + 1)]])
        found = dm.demand_levels(units, np.zeros(1, dtype=np.int64), lead, service, spikes)
        similar_daily = similar_pace(session, sku, first, last, lead) if similar and found.klass[0] == dm.NEW else None
        daily, levels = _class_levels(found, 0, units[0].sum(), lead, spikes, similar_daily, today, campaigns)
        return SkuForecast(daily=daily, sigma=float(found.sigma[0]), history_days=int(found.history_days[0]),
                           levels=levels, **common)
    history = fc.history_values(sales, start, last)
    values = fc.damp_spikes([units for _, units in history])
    damped = [(day, units) for (day, _), units in zip(history, values)]
    return SkuForecast(daily=fc.daily_demand(values, basis), sigma=fc.demand_sigma(values), history_days=len(values),
                       profile=fc.weekday_profile(damped), **common)


def _class_levels(found: dm.DemandLevels, row: int, units_since_first: float, lead: int, spikes: str,
                  similar: Optional[float], today: date, campaigns: Sequence[fc.CampaignWindow]
                  ) -> tuple[float, dm.SkuLevels]:
    """(daily demand, levels) of row `row`: the launch rule for a new SKU, nothing for a dead one,
    and campaigns in the lead window added on top, as for the other bases."""
    klass = dm.CLASSES[int(found.klass[row])]
    daily = float(found.daily[row])
    point: Optional[int] = int(found.reorder_point[row])
    critical: Optional[int] = int(found.critical_level[row])
    launch = None
    if klass == "new":
        started = dm.launch_levels(units_since_first, int(found.history_days[row]), lead, similar)
        daily, point, critical, launch = started.daily, started.reorder_point, started.critical_level, started.source
        if started.source == "none":
            point = critical = None
    elif klass == "dead":
        point = critical = None
    extra = 0.0
    tomorrow = today + timedelta(days=1)
    window = [c for c in campaigns if c.start < tomorrow + timedelta(days=lead) and c.end >= tomorrow]
    if window and point is not None:
        extra = fc.expected_demand(daily, tomorrow, lead, None, window) - daily * lead
        point, critical = fc.whole(point + extra), fc.whole(critical + extra)
    return daily, dm.SkuLevels(
        klass=klass, reorder_point=point, critical_level=critical, stretch_days=int(found.stretch_days[row]),
        worst_stretch=float(found.worst_stretch[row]), trend=float(found.trend[row]), adi=float(found.adi[row]),
        cv2=float(found.cv2[row]), one_off_days=int(found.one_off_days[row]), one_off_min=int(found.one_off_min[row]),
        spikes=spikes, campaign_units=extra, launch=launch)


SIMILAR_MAX_SKUS = 200


def similar_pace(session: Session, sku: str, first: date, last: date, lead: int) -> Optional[float]:
    """The median daily demand of the established SKUs of the same family (`DRESS-RED-S` ->
    `DRESS-RED-*`): what a new variant can expect to sell before it has a history of its own."""
    family = dm.sku_family(sku)
    if not family:
        return None
    members = [s for s in repo.known_skus(session, family) if s != sku][:SIMILAR_MAX_SKUS]
    if not members:
        return None
    sales = repo.sales_by_sku(session, members, first, last)
    paces = family_paces(sales, first, last, lead)
    return float(np.median(paces)) if paces else None


def family_paces(sales: dict[str, dict[date, int]], first: date, last: date, lead: int) -> list[float]:
    """Daily demand of the established SKUs among `sales` (neither new nor dead)."""
    members = [sku for sku in sales if sales[sku]]
    if not members:
        return []
    days = (last - first).days + 1
    units = np.zeros((len(members), days))
    starts = np.zeros(len(members), dtype=np.int64)
    for row, sku in enumerate(members):
        for day, sold in sales[sku].items():
            units[row, (day - first).days] = sold
        starts[row] = (min(sales[sku]) - first).days
    found = dm.demand_levels(units, starts, lead, one_offs=False)
    return [float(d) for d, k in zip(found.daily, found.klass) if k not in (dm.NEW, dm.DEAD)]


def sku_outlook(session: Session, settings: Settings, sku: str, available: int, on_order: int,
                etas: Sequence[Optional[date]], today: date) -> Optional[fc.Outlook]:
    """What an alert or `/stock` says about the days ahead; None without sales to forecast from.

    One cheap query first: most SKUs in a big first check have no history, and the full
    forecast is several more.
    """
    if not repo.has_sales(session, sku, today - timedelta(days=dm.HISTORY_DAYS)):
        return None
    forecast = forecast_for(session, settings, sku, today, similar=False)
    if not forecast.history_days:
        return None
    return outlook_for(forecast, available, on_order, min((eta for eta in etas if eta), default=None), today)


def outlook_for(forecast: SkuForecast, available: int, on_order: int, eta: Optional[date],
                today: date) -> fc.Outlook:
    tomorrow = today + timedelta(days=1)
    lead_extra = (fc.expected_demand(forecast.daily, tomorrow, forecast.lead_days + forecast.cover_days,
                                     forecast.profile, forecast.campaigns)
                  - forecast.daily * (forecast.lead_days + forecast.cover_days))
    levels = forecast.levels
    point = None
    if levels is not None and levels.reorder_point is not None:
        point = levels.reorder_point - levels.campaign_units  # the campaigns are in lead_extra already
    return fc.Outlook(
        daily=forecast.daily, days_of_cover=fc.days_of_cover(available, forecast.daily),
        stockout_date=fc.stockout_date(today, available, forecast.daily, forecast.profile, forecast.campaigns),
        suggested_qty=fc.suggested_order(forecast.daily, forecast.lead_days, available + on_order,
                                         forecast.cover_days, forecast.case_pack, forecast.moq, lead_extra, point),
        guidance=fc.ad_guidance(available, forecast.daily, forecast.lead_days, on_order, eta, today),
        lead_days=forecast.lead_days, method=forecast.method if forecast.auto else None,
        demand=_demand_note(forecast))


def _demand_note(forecast: SkuForecast) -> Optional[fc.DemandNote]:
    if forecast.levels is None:
        return None
    note = forecast.levels.note(forecast.history_days)
    if note.klass == "new" and not forecast.auto:  # the level in force is the one a person set
        note = replace(note, launch="manual")
    elif note.klass == "new" and "launch=similar" in (forecast.method or ""):  # as the nightly recompute set it
        note = replace(note, launch="similar")
    return note


def describe_method(basis: str, service: float, lead_days: int, history_days: int, campaigns: Sequence[str] = (),
                    seasonal: bool = False, levels: Optional[dm.SkuLevels] = None) -> str:
    """Stored with the plan and shown in alerts and `/threshold get` (see messages.method_text)."""
    parts = [f"basis={basis}", f"service={service:g}", f"lead={lead_days}", f"days={history_days}"]
    if levels is not None:
        parts += [f"class={levels.klass}", f"stretch={levels.stretch_days}", f"worst={levels.worst_stretch:.0f}",
                  f"trend={levels.trend:.2f}"]
        if levels.launch:
            parts.append(f"launch={levels.launch}")
        if levels.spikes != dm.SPIKE_MODES[0]:
            parts.append(f"spikes={levels.spikes}")
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
    kept: list[str] = field(default_factory=list)  # dead SKUs, and new ones with nothing to go on: level kept


def recompute_auto(engine: Engine, settings: Settings, now: datetime, skus: Optional[Sequence[str]] = None,
                   chunk: int = RECOMPUTE_CHUNK) -> RecomputeReport:
    """Recompute warning and critical levels of auto SKUs from their history, in NumPy chunks.

    By demand class (the default): warning = the reorder point of bot.core.demand, critical = the
    lead-time demand. Other bases: warning = lead-time demand + z x sigma x sqrt(lead). A SKU with
    no sales rows at all in the window keeps its level (nothing to learn from yet), and so does a
    dead one (no sale in 90 days: a new level would only invite a reorder).
    """
    today = now.date()
    report = RecomputeReport()
    with open_session(engine) as session:
        targets = repo.auto_skus(session, skus)
        campaigns = repo.active_campaigns(session, today)
        overseas = repo.overseas_warehouse_names(session)
        first, last = history_window(session, today, dm.HISTORY_DAYS)
    days = (last - first).days + 1
    for start in range(0, len(targets), chunk):
        batch = targets[start:start + chunk]
        with open_session(engine) as session:
            plans = repo.plans_for(session, batch)
            sales = repo.sales_by_sku(session, batch, first, last)
            warehouses = repo.stock_warehouses(session, batch)
            bought = suppliers.suppliers_for(session, batch)
            with_history = [sku for sku in batch if sales[sku]]
            report.no_history.extend(sku for sku in batch if not sales[sku])
            context = _Batch(session, settings, plans, sales, warehouses, overseas, campaigns, first, days, now,
                             report, {sku: found.supplier.lead_days for sku, found in bought.items() if found})
            for basis in sorted({plans[sku].basis or fc.DEFAULT_BASIS for sku in with_history}):
                group = [sku for sku in with_history if (plans[sku].basis or fc.DEFAULT_BASIS) == basis]
                if basis == fc.CLASS_BASIS:
                    _recompute_class_group(context, group)
                else:
                    _recompute_group(context, group, basis)
            session.commit()
    return report


@dataclass
class _Batch:
    """What one chunk of the nightly recompute reads once and every group of it uses."""

    session: Session
    settings: Settings
    plans: dict
    sales: dict
    warehouses: dict
    overseas: set[str]
    campaigns: Sequence[Campaign]
    first: date  # the date of column 0
    days: int
    now: datetime
    report: RecomputeReport
    supplier_leads: dict = field(default_factory=dict)  # SKU -> its supplier's lead days

    def units(self, group: list[str], days: int) -> tuple[np.ndarray, np.ndarray]:
        """(units sold, column of the first sale) over the last `days` days of the window."""
        offset = self.days - days
        units = np.zeros((len(group), days))
        starts = np.zeros(len(group), dtype=np.int64)
        for row, sku in enumerate(group):
            for day, sold in self.sales[sku].items():
                column = (day - self.first).days - offset
                if column >= 0:
                    units[row, column] = sold
            starts[row] = max(0, (min(self.sales[sku]) - self.first).days - offset)
        return units, starts

    def leads(self, group: list[str]) -> np.ndarray:
        return np.array([lead_days_for(self.settings, self.plans[sku], self.warehouses[sku], self.overseas,
                                       self.supplier_leads.get(sku)) for sku in group])

    def save(self, sku: str, warning: int, critical: int, thresholds: dict) -> None:
        current = thresholds.get(sku)
        if current is None or (current.warning_level, current.critical_level) != (warning, critical):
            repo.save_threshold(self.session, sku, warning, critical, repo.KEEP, AUTO_USER, self.now, repo.KEEP,
                                current=current)
            self.report.changed.append(sku)


def _recompute_class_group(batch: _Batch, group: list[str]) -> None:
    today = batch.now.date()
    units, starts = batch.units(group, batch.days)
    leads = batch.leads(group)
    services = np.array([batch.plans[sku].service or fc.DEFAULT_SERVICE for sku in group])
    spikes = np.array([batch.plans[sku].spikes or dm.SPIKE_MODES[0] for sku in group])
    thresholds = repo.thresholds_for(batch.session, group)
    found_by_mode = {mode: dm.demand_levels(units, starts, leads, services, mode) for mode in set(spikes.tolist())}
    # a new SKU's similar SKUs: established SKUs of the same family in this chunk (SKUs are sorted, so
    # a family's variants are mostly side by side)
    default = found_by_mode[spikes[0]]
    families: dict[str, list[float]] = {}
    for row, sku in enumerate(group):
        family = dm.sku_family(sku)
        if family and default.klass[row] not in (dm.NEW, dm.DEAD):
            families.setdefault(family, []).append(float(default.daily[row]))
    for row, sku in enumerate(group):
        found = found_by_mode[spikes[row]]
        lead, service = int(leads[row]), float(services[row])
        family = dm.sku_family(sku)
        similar = float(np.median(families[family])) if family in families and found.klass[row] == dm.NEW else None
        windows = campaign_windows(batch.campaigns, sku)
        _, levels = _class_levels(found, row, float(units[row, starts[row]:].sum()), lead, str(spikes[row]), similar,
                                  today, windows)
        plan: SkuPlan = batch.plans[sku]
        names = tuple(c.name or f"x{c.multiplier:g}" for c in windows) if levels.campaign_units else ()
        plan.method = describe_method(fc.CLASS_BASIS, service, lead, int(found.history_days[row]), names,
                                      levels=levels)
        plan.computed_at = batch.now
        batch.session.add(plan)
        batch.report.recomputed += 1
        if levels.reorder_point is None or levels.critical_level is None:
            batch.report.kept.append(sku)
            continue
        batch.save(sku, levels.reorder_point, min(levels.critical_level, levels.reorder_point), thresholds)


def _recompute_group(batch: _Batch, group: list[str], basis: str) -> None:
    today = batch.now.date()
    days = min(batch.days, fc.DEFAULT_HISTORY_DAYS)
    units, starts = batch.units(group, days)
    # days before the SKU's first sale are not history (as in forecast_for)
    before_first = np.arange(days)[None, :] < starts[:, None]
    leads = batch.leads(group)
    services = np.array([batch.plans[sku].service or fc.DEFAULT_SERVICE for sku in group])
    tomorrow = today + timedelta(days=1)
    thresholds = repo.thresholds_for(batch.session, group)  # one query per 500 SKUs, not a lookup (and flush) each
    first = batch.first + timedelta(days=batch.days - days)
    levels = compute_auto_levels(units, leads, services, basis, before_first, first, tomorrow)
    for row, sku in enumerate(group):
        plan: SkuPlan = batch.plans[sku]
        lead, service = int(leads[row]), float(services[row])
        if before_first[row].all():  # sold only before this basis's 90 days: nothing to learn from
            batch.report.kept.append(sku)
            continue
        warning, critical = int(levels.warning_level[row]), int(levels.critical_level[row])
        profile = None if levels.profile is None or np.isnan(levels.profile[row, 0]) else tuple(levels.profile[row])
        windows = campaign_windows(batch.campaigns, sku)
        names: tuple[str, ...] = ()
        if windows:  # few SKUs have one: the scalar path adds the campaign days in the lead window
            point = fc.reorder_point(float(levels.daily[row]), lead, fc.Safety(service=service),
                                     float(levels.sigma[row]), tomorrow, profile, windows)
            warning, critical, names = point.warning_level, point.critical_level, point.campaigns
        plan.method = describe_method(basis, service, lead, int(levels.history_days[row]), names, profile is not None)
        plan.computed_at = batch.now
        batch.session.add(plan)
        batch.report.recomputed += 1
        batch.save(sku, warning, critical, thresholds)
