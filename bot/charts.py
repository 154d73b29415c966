"""The stock chart posted in an alert's thread and by `/stock SKU chart`, as a pure function:
plain data in (`StockChart`), PNG bytes out.

It shows the last 60 days of stock, the forecast from today to stock-out, the warning and
critical levels, and open reorders at their ETA. matplotlib (Agg, no display) is imported on
the first render only, so starting the app and checks that draw nothing do not pay for it.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Optional, Sequence

HISTORY_DAYS = 60
FORECAST_DAYS = 30  # how far the forecast line runs when stock lasts longer than that
MAX_FORECAST_DAYS = 90  # ...or up to the latest ETA, but never further
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Sized for a phone: 1200 x 800 px, few and large labels.
FIGURE_INCHES = (6.0, 4.0)
DPI = 200

COLOURS = {"stock": "#1f5f3a", "forecast": "#1f5f3a", "warning": "#e8890c", "critical": "#d62728",
           "reorder": "#1f77b4", "late": "#d62728", "grid": "#dddddd", "today": "#888888"}

LABELS = {
    "en": {"title": "{sku} · stock and forecast", "title_no_sku": "Stock and forecast", "units": "units",
           "stock": "stock (daily close)", "forecast": "forecast", "warning": "warning {level}",
           "critical": "critical {level}", "now": "{available} now", "out": "out ≈ {day}",
           "reorder": "+{quantity}", "late": "+{quantity} late"},
    "zh": {"title": "{sku} · 库存与预测", "title_no_sku": "库存与预测", "units": "件",
           "stock": "库存（每日收盘）", "forecast": "预测", "warning": "预警线 {level}",
           "critical": "紧急线 {level}", "now": "当前 {available}", "out": "售罄 ≈ {day}",
           "reorder": "+{quantity}", "late": "+{quantity} 逾期"},
}
# Fonts with Simplified Chinese glyphs, in order of preference, when the system has one.
CJK_FONT_NAMES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
                  "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB",
                  "Droid Sans Fallback", "Arial Unicode MS")

LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1.5, "alpha": 0.85}  # keeps lines from crossing labels
_render_lock = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


@dataclass(frozen=True)
class ReorderMark:
    eta: date
    quantity: int
    late: bool = False


@dataclass(frozen=True)
class StockChart:
    """Everything the chart shows; `history` is closing available per day, oldest first."""

    sku: str
    today: date
    available: int
    history: Sequence[tuple[date, int]] = ()
    warning_level: Optional[int] = None
    critical_level: Optional[int] = None
    daily: Optional[float] = None  # forecast demand per day; None: no sales history
    stockout_date: Optional[date] = None
    reorders: Sequence[ReorderMark] = field(default_factory=tuple)


def past_days(chart: StockChart) -> list[tuple[date, int]]:
    """The history inside the chart's window, with today's value last."""
    start = chart.today - timedelta(days=HISTORY_DAYS - 1)
    points = [(day, units) for day, units in chart.history if start <= day < chart.today]
    return points + [(chart.today, chart.available)]


def projection(chart: StockChart) -> list[tuple[date, float]]:
    """The forecast line from today: straight to 0 on the stock-out date the alert names, or
    at the forecast rate to the horizon when that date is further out. Empty without demand."""
    if not chart.daily or chart.daily <= 0 or chart.available <= 0:
        return []
    latest_eta = max((r.eta for r in chart.reorders), default=chart.today)
    horizon = min(MAX_FORECAST_DAYS, max(FORECAST_DAYS, (latest_eta - chart.today).days + 3))
    end = chart.today + timedelta(days=horizon)
    if chart.stockout_date is not None and chart.stockout_date <= end:
        return [(chart.today, float(chart.available)), (max(chart.stockout_date, chart.today), 0.0)]
    rate = chart.daily
    if chart.stockout_date is not None and chart.stockout_date > chart.today:
        rate = chart.available / (chart.stockout_date - chart.today).days  # the same date as the message
    return [(chart.today, float(chart.available)), (end, max(0.0, chart.available - rate * horizon))]


def worth_drawing(chart: StockChart) -> bool:
    """A line needs two points: an earlier day of stock, a forecast, or a reorder to show."""
    return len(past_days(chart)) > 1 or bool(projection(chart)) or bool(chart.reorders)


def _qty(value: float) -> str:
    return f"{value:,.0f}"


@lru_cache(maxsize=1)
def cjk_font() -> Optional[str]:
    """The name of an installed font that has Simplified Chinese glyphs, or None."""
    from matplotlib import font_manager

    installed = {font.name: font.fname for font in font_manager.fontManager.ttflist}
    for name in CJK_FONT_NAMES:
        if name in installed:
            return name
    for name, path in sorted(installed.items()):  # any other font that covers "库存"...
        if "last resort" in name.lower():  # ...with real glyphs: Last Resort maps every character to a box
            continue
        try:
            charmap = font_manager.get_font(path).get_charmap()
        except Exception:  # an unreadable font file is just not a candidate
            continue
        if ord("库") in charmap and ord("存") in charmap:
            return name
    return None


def chart_language(lang: str) -> str:
    """Chinese labels only when a font can draw them; otherwise English, never boxes of tofu."""
    return "zh" if lang == "zh" and cjk_font() else "en"


def _drawable(text: str, font_name: Optional[str]) -> bool:
    from matplotlib import font_manager

    family = [font_name] if font_name else None  # None: matplotlib's default font (DejaVu Sans)
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=True)
    charmap = font_manager.get_font(path).get_charmap()
    return all(ord(char) in charmap for char in text if not char.isspace())


def render_stock_chart(chart: StockChart, lang: str = "en") -> bytes:
    """The chart as PNG bytes."""
    with _render_lock:
        return _render(chart, lang)


def _render(chart: StockChart, lang: str) -> bytes:
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lang = chart_language(lang)
    labels = LABELS[lang]
    font = cjk_font() if lang == "zh" else None
    text_style = {"fontfamily": font} if font else {}

    past = past_days(chart)
    ahead = projection(chart)
    etas = [r.eta for r in chart.reorders]
    start = past[0][0]
    end = max([chart.today + timedelta(days=7)] + [day for day, _ in ahead] + etas)
    end += timedelta(days=max(4, round((end - start).days * 0.14)))  # room for the labels at the right
    levels = [level for level in (chart.warning_level, chart.critical_level) if level is not None]
    top = max([units for _, units in past] + levels + [1]) * (1.25 if chart.reorders else 1.12)
    bottom = min([0] + [units for _, units in past]) * 1.1

    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.grid(True, color=COLOURS["grid"], linewidth=0.8)
    axes.set_axisbelow(True)
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)

    days = [day for day, _ in past]
    axes.plot(days, [units for _, units in past], color=COLOURS["stock"], linewidth=2.6, label=labels["stock"],
              drawstyle="steps-post" if len(past) > 1 else "default", marker="o" if len(past) == 1 else None)
    axes.plot([chart.today], [chart.available], "o", color=COLOURS["stock"], markersize=7)
    axes.annotate(labels["now"].format(available=_qty(chart.available)), (chart.today, chart.available),
                  xytext=(-10, -6), textcoords="offset points", ha="right", va="top", fontsize=12, fontweight="bold",
                  color=COLOURS["stock"], bbox=LABEL_BOX, **text_style)
    if ahead:
        axes.plot([day for day, _ in ahead], [units for _, units in ahead], color=COLOURS["forecast"],
                  linewidth=2.2, linestyle=(0, (4, 3)), label=labels["forecast"])
        empty_day, left = ahead[-1]
        if left <= 0:
            axes.plot([empty_day], [0], "X", color=COLOURS["critical"], markersize=11, clip_on=False)
            axes.annotate(labels["out"].format(day=empty_day.strftime("%m-%d")), (empty_day, 0), xytext=(7, 7),
                          textcoords="offset points", ha="left", fontsize=12, fontweight="bold",
                          color=COLOURS["critical"], bbox=LABEL_BOX, **text_style)
    for key, level in (("warning", chart.warning_level), ("critical", chart.critical_level)):
        if level is None:
            continue
        axes.axhline(level, color=COLOURS[key], linewidth=1.6, linestyle="--")
        axes.text(start, level, " " + labels[key].format(level=_qty(level)), color=COLOURS[key], fontsize=11,
                  va="bottom", ha="left", **text_style)
    for reorder in chart.reorders:
        colour = COLOURS["late" if reorder.late else "reorder"]
        axes.axvline(reorder.eta, color=colour, linewidth=1.4, linestyle=":")
        marker_at = bottom + (top - bottom) * 0.9
        axes.plot([reorder.eta], [marker_at], "v", color=colour, markersize=11)
        text = labels["late" if reorder.late else "reorder"].format(quantity=_qty(reorder.quantity))
        axes.annotate(text, (reorder.eta, marker_at), xytext=(0, 10), textcoords="offset points", ha="center",
                      va="bottom", bbox=LABEL_BOX,
                      fontsize=12, fontweight="bold", color=colour, **text_style)
    axes.axvline(chart.today, color=COLOURS["today"], linewidth=1.0)

    axes.set_xlim(start - timedelta(days=1), end)
    axes.set_ylim(bottom, top)
    axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    axes.yaxis.set_major_formatter(_thousands())
    axes.tick_params(labelsize=11)
    axes.set_ylabel(labels["units"], fontsize=11, **text_style)
    title = labels["title"].format(sku=chart.sku)
    if not _drawable(chart.sku, font):
        title = labels["title_no_sku"]  # a SKU the font cannot draw stays in the Slack message, not as boxes
    axes.set_title(title, fontsize=14, fontweight="bold", loc="left", **text_style)
    figure.legend(loc="outside lower center", ncols=2, frameon=False,
                  prop={"family": font, "size": 11} if font else {"size": 11})

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _position: _qty(value))
