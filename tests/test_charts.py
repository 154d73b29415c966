"""The stock chart renderer: plain data in, a PNG that decodes and shows what it should."""

from __future__ import annotations

import io
import warnings
from datetime import date, timedelta

import pytest

from bot.charts import (
    COLOURS,
    FORECAST_DAYS,
    HISTORY_DAYS,
    PNG_SIGNATURE,
    ReorderMark,
    StockChart,
    chart_language,
    cjk_font,
    projection,
    render_stock_chart,
    worth_drawing,
)

TODAY = date(2026, 11, 25)


def _history(days: int = 70, start: int = 3200, per_day: int = 60) -> list[tuple[date, int]]:
    return [(TODAY - timedelta(days=offset), start - per_day * (days - offset)) for offset in range(days, 0, -1)]


def _scenario(**changes) -> StockChart:
    values = dict(sku="LIP-RED-01", today=TODAY, available=1400, history=_history(), warning_level=1500,
                  critical_level=750, daily=120.0, stockout_date=TODAY + timedelta(days=12),
                  reorders=(ReorderMark(TODAY + timedelta(days=9), 2000),))
    values.update(changes)
    return StockChart(**values)


def _pixels(png: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def _count(image, hex_colour: str, tolerance: int = 12) -> int:
    """Pixels of about this colour."""
    import numpy as np

    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(np.asarray(image, dtype=int) - target) <= tolerance).all(axis=2).sum())


def test_a_known_scenario_renders_a_png_that_decodes():
    png = render_stock_chart(_scenario())
    assert png[:8] == PNG_SIGNATURE
    assert 10_000 < len(png) < 400_000  # a real picture, and small enough for a phone
    image = _pixels(png)
    assert image.size == (1200, 800)
    import matplotlib.image

    assert matplotlib.image.imread(io.BytesIO(png), format="png").shape[:2] == (800, 1200)
    # the levels and the reorder are drawn in their colours
    assert _count(image, COLOURS["warning"]) > 500
    assert _count(image, COLOURS["critical"]) > 500
    assert _count(image, COLOURS["reorder"]) > 200


def test_what_is_drawn_follows_the_data():
    with_reorder = _pixels(render_stock_chart(_scenario()))
    without = _pixels(render_stock_chart(_scenario(reorders=(), warning_level=None, critical_level=None)))
    assert _count(without, COLOURS["reorder"]) < 50 < _count(with_reorder, COLOURS["reorder"])
    assert _count(without, COLOURS["warning"]) < 50


def test_the_forecast_runs_straight_to_the_stockout_date_the_alert_names():
    line = projection(_scenario())
    assert line == [(TODAY, 1400.0), (TODAY + timedelta(days=12), 0.0)]
    # further out than the horizon: at the same rate, cut at the horizon
    far = projection(_scenario(daily=10.0, stockout_date=TODAY + timedelta(days=140), reorders=()))
    assert far[-1][0] == TODAY + timedelta(days=FORECAST_DAYS)
    assert far[-1][1] == pytest.approx(1400 - 10 * FORECAST_DAYS)
    # a reorder further out than the horizon stretches it
    late_eta = TODAY + timedelta(days=50)
    assert projection(_scenario(daily=10.0, stockout_date=None, reorders=(ReorderMark(late_eta, 5),)))[-1][0] > late_eta
    assert projection(_scenario(daily=None)) == []
    assert projection(_scenario(available=0)) == []


def test_only_charts_with_something_to_draw():
    bare = StockChart(sku="A", today=TODAY, available=40, warning_level=50, critical_level=25)
    assert not worth_drawing(bare)
    assert worth_drawing(StockChart(sku="A", today=TODAY, available=40, history=[(TODAY - timedelta(days=1), 60)]))
    assert worth_drawing(StockChart(sku="A", today=TODAY, available=40, daily=5.0, stockout_date=TODAY + timedelta(8)))
    assert worth_drawing(StockChart(sku="A", today=TODAY, available=40, reorders=(ReorderMark(TODAY, 10),)))
    # history older than the window is not drawn
    old = [(TODAY - timedelta(days=HISTORY_DAYS + 5), 90)]
    assert not worth_drawing(StockChart(sku="A", today=TODAY, available=40, history=old))


def test_chinese_labels_need_a_chinese_font_and_never_draw_tofu():
    assert chart_language("zh") == ("zh" if cjk_font() else "en")
    assert cjk_font() is None or "last resort" not in cjk_font().lower()  # a font of boxes is no Chinese font
    assert chart_language("en") == "en"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_stock_chart(_scenario(sku="连衣裙-红-XL"), "zh")
    assert png[:8] == PNG_SIGNATURE
    assert not [w for w in caught if "missing from font" in str(w.message)], [str(w.message) for w in caught]


def test_out_of_stock_and_a_single_day_still_render():
    png = render_stock_chart(StockChart(sku="A", today=TODAY, available=-3, history=[(TODAY - timedelta(days=1), 4)],
                                        warning_level=50, critical_level=25, reorders=(ReorderMark(TODAY, 10, late=True),)))
    assert _pixels(png).size == (1200, 800)
