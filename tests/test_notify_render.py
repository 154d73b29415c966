"""Format limits of the notification renderers, as pure functions: WeCom's 4096 bytes cut on a
character boundary, one SMS segment (GSM-7 with its two-septet characters, UCS-2 for Chinese)."""

from __future__ import annotations

from bot.core import notify as core
from bot.notify import render
from tests.notify_servers import sms_segments


def _event(kind: str, tier: int, sku: str, name: str = None, available: int = 0, lang_items: int = 1) -> core.Event:
    items = tuple(core.Item(sku=f"{sku}{n or ''}", tier=tier, available=available, warning_level=1000,
                            critical_level=500, name=name) for n in range(lang_items))
    return core.Event(kind, tier, items, "2026-05-01T09:00:00+00:00", count=len(items))


def test_wecom_markdown_is_cut_within_4096_bytes_on_a_character_boundary():
    text = render.fit_bytes(["标题" + "库" * 3000], ["[link](https://slack.com/archives/C1/p1)"], 4096)
    assert len(text.encode("utf-8")) <= 4096 and text.endswith("[link](https://slack.com/archives/C1/p1)")
    assert "…" in text and "\ufffd" not in text
    lines = [f"> 第 {n} 行 " + "货" * 100 for n in range(40)]
    text = render.fit_bytes(lines, ["tail"], 4096)
    assert len(text.encode("utf-8")) <= 4096 and text.endswith("tail") and "第 0 行" in text and "第 39 行" not in text
    content = render.wecom_markdown("zh", _event(core.DIGEST, 1, "SKU-", "名" * 240, 10, lang_items=30))
    assert len(content.encode("utf-8")) <= 4096 and "30 个 SKU" in content


def test_an_sms_is_one_segment_even_with_long_names_and_skus():
    for lang in ("en", "zh"):
        for name in (None, "Velvet Matte Lipstick [Limited] {Rose} ~ Edition " * 3, "碎花连衣裙" * 20):
            for kind, tier in ((core.ALERT, 3), (core.REMINDER, 2), (core.RECOVERY, 1)):
                text = render.sms_text(lang, _event(kind, tier, "DRESS-RED-XL-" + "9" * 40, name, 5))
                assert sms_segments(text) == 1 and "\n" not in text, (lang, name, text)
    assert render.sms_units("a[b]€") == (8, 160)  # [, ] and € take two septets each
    assert render.sms_units("库存") == (2, 70)
    english = render.sms_text("en", _event(core.ALERT, 3, "SKU123", "Velvet Matte Lipstick", 0))
    assert english == "Stockbot OUT OF STOCK: SKU123 Velvet Matte Lipstick 0 left"
    assert render.sms_text("zh", _event(core.ALERT, 3, "SKU123", None, 0)) == "Stockbot 已断货：SKU123 剩0件"


def test_masking_keeps_enough_to_tell_targets_apart_and_nothing_to_use():
    assert core.mask_target("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=ab1234567890cd9f") == \
        "https://oapi.dingtalk.com/robot/send?access_token=ab…9f"
    assert core.mask_target("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/0a1b2c3d-4e5f-6789") == \
        "https://open.feishu.cn/open-apis/bot/v2/hook/0a…89"
    assert core.mask_target("webhook", "https://user:pw@erp.example:8443/x/hooks?k=s3cretvalue99") == \
        "https://erp.example:8443/x/hooks?k=s3…99"
    assert core.mask_target("sms", "+8613800001234") == "+861…1234"
