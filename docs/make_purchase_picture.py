"""Draws docs/purchase-flow.png: the purchase request as Slack shows it, waiting and approved.

    python docs/make_purchase_picture.py

The texts come from the real builders (bot.purchase_messages.request_message, rendered by
bot.notifier.blocks_as_text), so the picture shows what Stockbot posts, not a mock-up.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from bot.core.purchase import PoLine  # noqa: E402
from bot.notifier import blocks_as_text  # noqa: E402
from bot.purchase_messages import PurchaseView, request_message  # noqa: E402

WHEN = datetime(2026, 7, 1, 9, 30, tzinfo=timezone.utc)


def card_text(view: PurchaseView) -> str:
    message = request_message("en", view)
    text = blocks_as_text(message["blocks"], message["text"]).replace("*", "").replace("_", "")
    # The monospace font has no emoji: leave them out rather than draw empty boxes.
    return "".join(c for c in text if not (0x2600 <= ord(c) <= 0x27BF or ord(c) >= 0x1F000)).replace("\n ", "\n").strip()


def main() -> None:
    line = PoLine("DRESS-RED-S", "Red summer dress S", 240, 3.20)
    waiting = PurchaseView(12, "Acme Co", "CNY", [line], "U0BUYER", WHEN,
                           reason="CRITICAL: 180 available, 6 days of cover, stock-out 2026-07-07")
    approved = PurchaseView(12, "Acme Co", "CNY", [line], "U0BUYER", WHEN, status="approved",
                            reason=waiting.reason, po_number="PO-20260701-12", decided_by="U0BOSS",
                            decided_at=datetime(2026, 7, 1, 10, 5, tzinfo=timezone.utc),
                            email="buyer@acme.example", eta=date(2026, 7, 15))
    cards = [("1. Request purchase → posted to PURCHASE_CHANNEL", card_text(waiting)),
             ("2. Approved: PO number, reorder on the alert, PO e-mailed (XLSX) and sent to the ERP",
              card_text(approved))]
    figure = plt.figure(figsize=(9.5, 5.0), dpi=110)
    figure.patch.set_facecolor("white")
    top = 0.97
    for title, text in cards:
        lines = text.count("\n") + 1
        lines = lines * 6.2 / 5.0  # the same line height in a shorter figure
        height = 0.036 * lines + 0.025
        figure.text(0.04, top, title, fontsize=10.5, weight="bold", va="top", color="#1d1c1d")
        box_top = top - 0.045
        figure.patches.append(FancyBboxPatch((0.04, box_top - height), 0.92, height, transform=figure.transFigure,
                                             boxstyle="round,pad=0.005,rounding_size=0.01", facecolor="#f8f8f8",
                                             edgecolor="#dddddd", linewidth=1))
        figure.patches.append(FancyBboxPatch((0.04, box_top - height), 0.006, height, transform=figure.transFigure,
                                             boxstyle="square,pad=0", facecolor="#2eb67d", edgecolor="none"))
        figure.text(0.06, box_top - 0.015, text, fontsize=9.5, va="top", family="DejaVu Sans Mono", color="#1d1c1d",
                    linespacing=1.55)
        top = box_top - height - 0.05
    out = ROOT / "docs" / "purchase-flow.png"
    figure.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
