"""Every user-facing sentence, in English and Simplified Chinese.

Keys are looked up by the message builders in `bot.messages`; nothing else holds wording.
"""

from __future__ import annotations

from bot.slack_text import Mrkdwn, outside

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        # tiers
        "tier.WARNING": "WARNING",
        "tier.CRITICAL": "CRITICAL",
        "tier.OUT_OF_STOCK": "OUT OF STOCK",
        "tier.OK": "OK",
        # alert
        "alert.title": "{emoji} {tier} · {sku}",
        "alert.available": "*Available*\n{available}",
        "alert.warning_level": "*Warning level*\n{level}",
        "alert.critical_level": "*Critical level*\n{level}",
        "alert.on_order": "*On order*\n{on_order}",
        "alert.read_at": "Stock read {when}",
        "alert.stale": "⚠️ Not in the latest read of `{source}`: last known stock, as of {when}. Check the count.",
        "alert.todo.WARNING": "Reorder soon, then press *Mark reorder placed*.",
        "alert.todo.CRITICAL": "Reorder now. Consider slowing ad spend until stock lands.",
        "alert.todo.OUT_OF_STOCK": "Sold out. Pause ads for this SKU and reorder now.",
        "alert.fallback": "{tier}: {sku} available {available} ({level_name} {level})",
        "alert.level_name.warning": "warning level",
        "alert.level_name.critical": "critical level",
        "alert.acked": "✅ Acknowledged by {user} {when}",
        "alert.reorder": "📦 Reorder placed: {quantity} by {user}{eta}{note}",
        "alert.reorder_eta": ", ETA {eta}",
        "alert.reorder_late": "⚠️ Reorder of {quantity} is LATE: ETA was {eta} and stock has not recovered.",
        "alert.recovered": "✅ Recovered {when}: available {available}, above the warning level {level}.",
        "alert.title_recovered": "✅ Recovered · {sku} · was {tier}",
        "alert.fallback_recovered": "Recovered: {sku} available {available} (warning level {level})",
        "alert.todo_ordered.WARNING": "Reorder placed: watch for it to land.",
        "alert.todo_ordered.CRITICAL": "Reorder on its way. Consider slowing ad spend until stock lands.",
        "alert.todo_ordered.OUT_OF_STOCK": "Sold out, reorder on its way. Pause ads for this SKU until stock lands.",
        "alert.reorder_note": " — {note}",
        "alert.more_reorders": "…and {count} more reorders",
        "more.lines": "…and {count} more",
        "channel.refused": "⚠️ I can't post stock alerts to {channel}: {reason}\n"
                           "Alerts for that channel wait (other channels are not held up) and I try again at later "
                           "checks.",
        "channel.reason.not_in_channel": "I'm not a member of it. Open the channel and type `/invite @Stockbot`.",
        "channel.reason.channel_not_found": "Slack says it doesn't exist or I can't see it (a private channel I "
                                            "wasn't invited to, or a deleted one). In that channel type `/invite "
                                            "@Stockbot`, or send the SKU's alerts elsewhere: `/threshold set SKU123 "
                                            "1500 channel #stock-alerts`.",
        "channel.reason.is_archived": "it is archived. Unarchive it and type `/invite @Stockbot` there, or send the "
                                      "SKU's alerts elsewhere: `/threshold set SKU123 1500 channel #stock-alerts`.",
        "channel.reason.other": "Slack answered `{error}`.",
        "channel.works_again": "✅ I can post to {channel} again; its waiting alerts are going out.",
        "reply.channel_unusable": "⚠️ I can't post to {channel}: {reason}\nNothing was changed.",
        "button.ack": "Acknowledge",
        "button.reordered": "Mark reorder placed",
        # thread replies
        "reminder": "⏰ Reminder: *{sku}* is still {tier}: available {available} (level {level}). "
                    "Nobody has acknowledged this alert yet.",
        "recovery": "✅ *{sku}* recovered: available {available}, above the warning level {level}.",
        "reorder_reply": "📦 {user} placed a reorder of {quantity} for *{sku}*{eta}.",
        "source.failed": "⚠️ Stock source `{source}` could not be read: {error}\n"
                         "No alerts come from it until it is fixed; the last good stock numbers are kept.",
        "source.recovered": "✅ Stock source `{source}` is readable again ({rows} rows).",
        # modal
        "import.title.stock": "Import stock",
        "import.title.sales": "Import sales history",
        "import.submit": "Import",
        "import.file": "CSV or XLSX export",
        "import.hint.stock": "Columns: SKU and available (e.g. `SKU`, `可用库存`); warehouse, name and on order "
                             "are optional. Rows with problems are skipped and listed; nothing else changes.",
        "import.hint.sales": "Columns: SKU, date and units sold (e.g. `SKU`, `日期`, `销量`); warehouse is optional. "
                             "Importing a day again replaces it.",
        "import.no_file": "Choose a CSV or XLSX file.",
        "import.working": "📥 Importing *{file}*…",
        "import.done.stock": "📥 *{file}* imported: {rows} {units} read · {skus} SKUs updated · {rejected} rejected",
        "import.done.sales": "📥 *{file}* imported (sales): {rows} {units} read · {stored} SKU-days for {skus} SKUs "
                             "· {rejected} rejected",
        "import.rejected_line": "• {unit} {number}: {reason}",
        "import.more_rejected": "…and {count} more",
        "import.unknown_headers": "Columns not used: {headers}",
        "import.checking": "SKUs below their levels are being alerted now.",
        "import.failed": "❌ Could not import *{file}*: {error}\nNothing was changed.",
        "import.fetch_failed": "❌ Could not get *{file}* from Slack: {error}",
        "import.dm_help": "Drop a CSV or XLSX stock export here and I will import it (write `sales` in the message "
                          "for sales history). `/stock help` lists the commands.",
        "modal.title": "Reorder placed",
        "modal.submit": "Save",
        "modal.cancel": "Cancel",
        "modal.sku": "SKU {sku}",
        "modal.quantity": "Quantity ordered",
        "modal.eta": "Expected arrival (ETA)",
        "modal.note": "Note (supplier, PO number…)",
        # replies
        "reply.not_admin": "Sorry, only threshold admins can do that here. Ask one of: {admins}.",
        "reply.threshold_saved": "✅ *{sku}*: warning at {warning}, critical at {critical}, alerts to {channel}.",
        "reply.threshold_was": "Before: warning {warning}, critical {critical}.",
        "reply.threshold_scope": "Levels apply to warehouse *{warehouse}* only.",
        "reply.status_title": "*Stock sources* · next check {next}",
        "reply.status_line": "{icon} `{source}` — last good read {when}, {rows} rows{error}",
        "reply.status_error": "\n      last error {when}: {error}",
        "reply.status_never": "never",
        "reply.status_none": "No stock source has been read yet. Set `STOCK_SOURCE` (csv:PATH, xlsx:PATH, "
                             "file:FOLDER, tiktok, sql) or push to `POST /api/stock`.",
        "reply.threshold_show": "*{sku}*: warning at {warning}, critical at {critical}, alerts to {channel}.\n"
                                "Last changed by {user} {when}.",
        "reply.no_threshold": "No threshold is set for *{sku}*. Set one with `/threshold set {sku} 1500`.",
        "reply.threshold_removed": "🗑️ Threshold for *{sku}* removed (was warning {warning}, critical {critical}). "
                                   "No more alerts for it.",
        "reply.list_header": "*Thresholds{prefix}* — {total} SKUs, page {page} of {pages}",
        "reply.list_prefix": " starting with `{prefix}`",
        "reply.list_row": "• *{sku}*: warning {warning}, critical {critical}{channel}{auto}",
        "reply.list_more": "Next page: `/threshold list {args}page {next}`",
        "reply.list_empty": "No thresholds{prefix} yet. Set one with `/threshold set SKU123 1500`.",
        "reply.list_past_end": "There is no page {page}: the list has {pages} page(s).",
        "reply.history_header": "*History of {sku}* (newest first)",
        "reply.history_set": "• {when} {user}: warning {old_warning} → {new_warning}, "
                             "critical {old_critical} → {new_critical}{channel}",
        "reply.history_remove": "• {when} {user}: removed (was warning {old_warning}, critical {old_critical})",
        "reply.history_empty": "No changes recorded for *{sku}*.",
        "reply.history_channel": ", channel {old} → {new}",
        "reply.default_channel": "the default alert channel",
        "reply.stock_show": "*{sku}*{name}: available *{available}*{warehouses}\n{levels}\n{state}",
        "reply.stock_levels": "Warning at {warning}, critical at {critical}.",
        "reply.stock_no_levels": "No threshold set: `/threshold set {sku} 1500`.",
        "reply.stock_state_ok": "State: OK.",
        "reply.stock_state_alert": "State: {tier} alert open since {when}{acked}.",
        "reply.stock_state_acked": ", acknowledged by {user}",
        "reply.stock_state_below_covered": "State: below the warning level, covered by {on_order} on order.",
        "reply.stock_on_order": "On order: {on_order}.",
        "reply.stock_read": "Read {when} from `{source}`.",
        "reply.stock_unknown": "No stock reading for *{sku}* yet. Record a count with `/stock set {sku} 1200`.",
        "reply.stock_saved": "✅ *{sku}*{warehouse}: available set to {available}. Checking it now.",
        "reply.stock_which_warehouse": "*{sku}* is stocked in several warehouses ({warehouses}). "
                                       "Say which: `/stock set {sku} {available} warehouse NAME`.",
        "reply.unknown_sku": "I don't know *{sku}*: it has no threshold and no stock reading. "
                             "Check the spelling, or set a threshold first.",
        "reply.reorder_saved": "📦 Reorder recorded for *{sku}*: {quantity}{eta}. "
                               "It counts toward stock on hand, so no new WARNING while it covers the level.",
        "reply.reorder_list_header": "*Open reorders{sku}*",
        "reply.reorder_row": "• *{sku}*: {quantity}{eta} by {user}{late}{note}",
        "reply.reorder_late": " — ⚠️ late",
        "reply.reorder_list_empty": "No open reorders{sku}.",
        "reply.reorder_cancelled": "Cancelled {count} open reorder(s) for *{sku}*.",
        "reply.reorder_none_to_cancel": "*{sku}* has no open reorders to cancel.",
        "reply.ack_done": "Thanks, acknowledged.",
        "reply.alert_gone": "That alert no longer exists (its SKU was removed or the episode closed).",
        "reply.internal_error": "Sorry, something went wrong on our side and nothing was changed. "
                                "Please try again in a minute.",
        # errors
        "error.prefix": "⚠️ {message}",
        "error.missing_sku": "Which SKU? The SKU is missing.",
        "error.sku_too_long": "That SKU is {length} characters long; the limit is {max}.",
        "error.sku_bad_chars": "`{sku}` is not a valid SKU: use letters, numbers and - _ . / : + # ( ) only.",
        "error.missing_number": "The {what} is missing.",
        "error.negative_number": "The {what} can't be negative (got {value}).",
        "error.not_a_number": "The {what} must be a whole number, not `{value}`.",
        "error.not_a_decimal": "The {what} must be a number (e.g. `150` or `12.5`), not `{value}`.",
        "error.number_too_big": "The {what} `{value}` is too big (max {max}).",
        "error.zero_number": "The {what} must be more than 0.",
        "error.missing_channel": "Which channel? Pick one after `channel`, e.g. `channel #stock-alerts`.",
        "error.bad_channel": "`{value}` is not a channel I can use. Type `#` and pick the channel from "
                             "Slack's list so it turns blue.",
        "error.missing_eta": "The ETA is missing: use a date like `2026-12-10` or days like `7d`.",
        "error.bad_eta": "`{value}` is not a date: use `2026-12-10` or `7d`.",
        "error.eta_in_past": "The ETA {eta} is in the past.",
        "error.eta_too_far": "The ETA {eta} is more than a year away.",
        "error.too_long": "That command is {length} characters long; the limit is {max}.",
        "error.unexpected_words": "I didn't understand `{words}`.",
        "error.unknown_option": "Unknown option `{option}` (use: {allowed}).",
        "error.critical_above_warning": "The critical level ({critical}) can't be above the warning level "
                                        "({warning}).",
        "error.unknown_subcommand": "Unknown command `{sub}` (use: {allowed}).",
        "error.missing_warehouse": "The warehouse name is missing after `warehouse`.",
        "error.missing_note": "The note is empty.",
        "error.note_too_long": "The note is too long (max {max} characters).",
        "what.warning_level": "warning level",
        "what.critical_level": "critical level",
        "what.available": "available quantity",
        "what.quantity": "quantity",
        "what.page": "page number",
        # usage
        "usage.threshold": "*Usage:*\n"
                           "`/threshold set SKU123 1500` — warn at 1500 (critical defaults to half)\n"
                           "`/threshold set SKU123 1500 critical 500 channel #stock-alerts`\n"
                           "`/threshold set SKU123 300 warehouse US-WEST` — watch one warehouse only\n"
                           "`/threshold get SKU123` · `/threshold list [prefix] [page 2]`\n"
                           "`/threshold remove SKU123` · `/threshold history SKU123`\n"
                           "`/threshold calc SKU123 daily 150 lead 7 safety 3d` — reorder point with its working "
                           "(safety `3d`, `450` units or `95%` service); without `daily` it uses sales history "
                           "(`basis avg|max|p90|weighted`, `days 90`)\n"
                           "`/threshold auto SKU123|all|PREFIX* [lead 7] [service 98%]` — recompute nightly from "
                           "sales · `/threshold auto off SKU123`\n"
                           "`/threshold lead SKU123 21 [pack 24] [moq 100] [cover 30]` — lead time, case pack, MOQ",
        "usage.campaign": "*Usage:*\n"
                          "`/campaign add SKU123|all|PREFIX* 2026-12-01 2026-12-03 x3 [name]` — a live-stream or "
                          "ad push that multiplies expected demand in those days\n"
                          "`/campaign list [SKU123]` · `/campaign remove 7`",
        "usage.stock": "*Usage:*\n"
                       "`/stock SKU123` — available, levels and alert state\n"
                       "`/stock set SKU123 1200 [warehouse US-WEST]` — record a manual count\n"
                       "`/stock status` — each stock source: last good read, rows, last error\n"
                       "`/stock import [sales]` — upload a CSV/XLSX export (or drop it in a DM with me; "
                       "write `sales` in the message for sales history)",
        "usage.reorder": "*Usage:*\n"
                         "`/reorder SKU123 2000 [eta 2026-12-10 | eta 7d] [note text…]` — record a reorder\n"
                         "`/reorder list [SKU123]` · `/reorder cancel SKU123`",
        # home
        "home.title": "Stockbot",
        "home.summary": "*{open}* SKUs need attention · {thresholds} SKUs watched · last check {when}",
        "home.never": "never",
        "home.row": "{emoji} *{sku}* {tier}: available {available} (level {level}){acked}",
        "home.acked": " · acked",
        "home.none": "All watched SKUs are above their warning levels. 🎉",
        "home.more": "…and {count} more.",
        "outlook.no_demand": "📉 No sales in the history: days of cover unknown.",
        "outlook.cover": "📉 ~{daily}/day · *{cover} days* of cover · runs out ≈ *{date}*",
        "outlook.not_within_year": "not within a year",
        "outlook.suggested": "📦 Suggested reorder: *{quantity}* (lead {lead} days + cover)",
        "guidance.reorder_now": "📣 Ads: *reorder now* — stock lasts {cover} days, a reorder takes {lead}.",
        "guidance.slow_ads": "📣 Ads: stock runs out {days} days before the reorder lands — *slow ad spend, pause top-ups, "
                             "move from conversion to reach* until stock lands.",
        "guidance.scale": "📣 Ads: stock supports scaling ads — {cover} days of cover, over twice the {lead}-day lead time.",
        "method.auto": "🤖 Auto level: {basis} of {days} in-stock days, {service} service, lead {lead} days",
        "method.weekdays": ", weekday pattern",
        "method.campaigns": ", campaigns: {names}",
        "basis.avg": "average",
        "basis.max": "maximum",
        "basis.p90": "90th percentile",
        "basis.weighted": "weighted recent average",
        "calc.title": "*{sku}* · reorder point *{warning}* (critical {critical})",
        "calc.lead_demand": "  {daily}/day × {lead} days lead time = {units}",
        "calc.weekdays": " (weekday pattern)",
        "calc.campaigns": "+ campaigns in the lead time: {units} ({names})",
        "calc.safety_service": "+ safety stock {units} = z {z} × σ {sigma} × √{lead}, buys a {service} cycle service level",
        "calc.safety_days": "+ safety stock {units} ({days} days of demand)",
        "calc.safety_units": "+ safety stock {units}",
        "calc.safety_none": "+ no safety stock (add `safety 3d`, `safety 450` or `safety 95%`)",
        "calc.equals": "= *{warning}*",
        "calc.demand_typed": "Daily demand as typed.",
        "calc.demand_history": "Daily demand: {basis} of {days} in-stock days of sales; σ {sigma}/day",
        "calc.stockout_left_out": " ({days} out-of-stock days left out)",
        "calc.now": "*Now:* available {available}",
        "button.apply": "Apply {warning} / {critical}",
        "reply.calc_no_history": "*{sku}* has no sales history yet, so there is nothing to compute demand from. Type it "
                                 "(`/threshold calc {sku} daily 150 lead 7 safety 3d`) or import sales (`/stock import "
                                 "sales`).",
        "reply.calc_service_needs_history": "A service level needs the spread of daily sales, and *{sku}* has no sales "
                                            "history. Use `safety 3d` (days) or `safety 450` (units) instead.",
        "reply.applied": "✅ Applied: *{sku}* warning {warning}, critical {critical}.{auto_off}",
        "reply.auto_was_off": " Auto mode is off for it now (a level set by hand wins).",
        "reply.auto_on": "🤖 Auto thresholds on for {count} SKU(s): {skus}. Levels are recomputed every night from sales.",
        "reply.auto_levels": "• *{sku}*: warning {warning}, critical {critical} — {method}",
        "reply.auto_waiting": "• *{sku}*: no sales history yet — level unchanged until sales arrive",
        "reply.auto_off": "Auto thresholds off for {count} SKU(s): {skus}. Their current levels stay as they are.",
        "reply.auto_no_match": "No SKU matches `{target}`. Check the spelling, or add stock or a threshold first.",
        "reply.lead_saved": "✅ *{sku}*: lead time {lead} days{extra}.",
        "reply.lead_pack": ", case pack {pack}",
        "reply.lead_moq": ", MOQ {moq}",
        "reply.lead_cover": ", target cover {cover} days",
        "reply.threshold_auto": "{method}, recomputed {when}",
        "reply.threshold_auto_pending": "🤖 Auto: on, waiting for the nightly recompute",
        "reply.threshold_manual": "✍️ Set by hand (`/threshold calc {sku}` shows what sales suggest)",
        "reply.campaign_added": "📅 Campaign #{id} added: {target} {start} → {end} ×{multiplier}{name}. Auto levels are "
                                "raised in time for it.",
        "reply.campaign_list_header": "*Campaigns{sku}:*",
        "reply.campaign_row": "• #{id} {target} {start} → {end} ×{multiplier}{name} — {user}",
        "reply.campaign_list_empty": "No campaigns planned{sku}.",
        "reply.campaign_removed": "🗑️ Campaign #{id} removed ({target} {start} → {end} ×{multiplier}).",
        "reply.campaign_not_found": "There is no campaign #{id}. `/campaign list` shows them.",
        "reply.all_skus": "all SKUs",
        "reply.by_auto": "Stockbot (auto)",
        "error.zero_days": "{what} must be at least 1 day.",
        "error.days_too_many": "{what} of {value} days is too long (max {max}).",
        "error.missing_service": "Missing service level: e.g. `95%`.",
        "error.bad_service": "`{value}` is not a service level: use 50%–99.99%, e.g. `95%`.",
        "error.missing_safety": "Missing safety stock: `3d` (days), `450` (units) or `95%` (service level).",
        "error.bad_basis": "`{value}` is not a demand basis (use {allowed}).",
        "error.missing_multiplier": "Missing multiplier: e.g. `x3` for three times the usual sales.",
        "error.bad_multiplier": "`{value}` is not a multiplier: use e.g. `x3` or `x1.5` (not x1, at most x100).",
        "error.zero_multiplier": "x0 means no sales at all: to stop watching a SKU use `/threshold remove`.",
        "error.missing_date": "Missing {what} date: e.g. `2026-12-01`.",
        "error.bad_date": "`{value}` is not a date: use `2026-12-01`.",
        "error.date_in_past": "{day} is in the past (today is {today}).",
        "error.end_before_start": "The campaign ends ({end}) before it starts ({start}).",
        "error.campaign_too_long": "A campaign can last at most {max} days.",
        "error.date_too_far": "{day} is more than a year away.",
        "what.daily": "daily demand",
        "what.lead": "lead time",
        "what.safety_days": "safety days",
        "what.safety_units": "safety stock",
        "what.history_days": "history days",
        "what.case_pack": "case pack",
        "what.moq": "MOQ",
        "what.cover_days": "target cover",
        "what.campaign_id": "campaign number",
        "what.start": "start",
        "what.end": "end",
    },
    "zh": {
        "tier.WARNING": "库存预警",
        "tier.CRITICAL": "库存告急",
        "tier.OUT_OF_STOCK": "已断货",
        "tier.OK": "正常",
        "alert.title": "{emoji} {tier} · {sku}",
        "alert.available": "*可用库存*\n{available}",
        "alert.warning_level": "*预警线*\n{level}",
        "alert.critical_level": "*告急线*\n{level}",
        "alert.on_order": "*在途*\n{on_order}",
        "alert.read_at": "库存读取于 {when}",
        "alert.stale": "⚠️ `{source}` 最近一次读取中没有该 SKU：以下为截至 {when} 的最后已知库存，请核对。",
        "alert.todo.WARNING": "请尽快补货，下单后点击 *已下补货单*。",
        "alert.todo.CRITICAL": "请立即补货，到货前考虑降低广告投放。",
        "alert.todo.OUT_OF_STOCK": "已断货：请暂停该 SKU 的广告并立即补货。",
        "alert.fallback": "{tier}：{sku} 可用 {available}（{level_name} {level}）",
        "alert.level_name.warning": "预警线",
        "alert.level_name.critical": "告急线",
        "alert.acked": "✅ {user} 已确认 {when}",
        "alert.reorder": "📦 已下补货单：{quantity}，由 {user} 提交{eta}{note}",
        "alert.reorder_eta": "，预计到货 {eta}",
        "alert.reorder_late": "⚠️ 补货 {quantity} 已逾期：预计 {eta} 到货，库存仍未恢复。",
        "alert.recovered": "✅ 已恢复 {when}：可用 {available}，高于预警线 {level}。",
        "alert.title_recovered": "✅ 已恢复 · {sku} · 曾{tier}",
        "alert.fallback_recovered": "已恢复：{sku} 可用 {available}（预警线 {level}）",
        "alert.todo_ordered.WARNING": "已下补货单：请留意到货。",
        "alert.todo_ordered.CRITICAL": "补货在途：到货前考虑降低广告投放。",
        "alert.todo_ordered.OUT_OF_STOCK": "已断货，补货在途：到货前请暂停该 SKU 的广告。",
        "alert.reorder_note": "，备注：{note}",
        "alert.more_reorders": "…还有 {count} 个补货单",
        "more.lines": "…还有 {count} 条",
        "channel.refused": "⚠️ 我无法在 {channel} 发送库存预警：{reason}\n"
                           "发往该频道的预警会暂缓（不影响其他频道），之后的检查会再试。",
        "channel.reason.not_in_channel": "我不是该频道成员。请在该频道输入 `/invite @Stockbot`。",
        "channel.reason.channel_not_found": "Slack 表示该频道不存在或我看不到（未邀请我的私有频道，或已删除的频道）。"
                                            "请在该频道输入 `/invite @Stockbot`，或把该 SKU 的预警发到其他频道："
                                            "`/threshold set SKU123 1500 channel #stock-alerts`。",
        "channel.reason.is_archived": "该频道已归档。请取消归档并在其中输入 `/invite @Stockbot`，或把该 SKU 的预警发到"
                                      "其他频道：`/threshold set SKU123 1500 channel #stock-alerts`。",
        "channel.reason.other": "Slack 返回错误 `{error}`。",
        "channel.works_again": "✅ 已可以在 {channel} 发消息，暂缓的预警正在发出。",
        "reply.channel_unusable": "⚠️ 我无法在 {channel} 发消息：{reason}\n没有任何修改。",
        "button.ack": "确认",
        "button.reordered": "已下补货单",
        "reminder": "⏰ 提醒：*{sku}* 仍为 {tier}：可用 {available}（线 {level}）。此预警尚无人确认。",
        "recovery": "✅ *{sku}* 已恢复：可用 {available}，高于预警线 {level}。",
        "reorder_reply": "📦 {user} 为 *{sku}* 下了补货单 {quantity}{eta}。",
        "source.failed": "⚠️ 库存数据源 `{source}` 读取失败：{error}\n修复前不会因它发出预警；保留上次成功读取的库存。",
        "source.recovered": "✅ 库存数据源 `{source}` 已恢复读取（{rows} 行）。",
        "import.title.stock": "导入库存",
        "import.title.sales": "导入销量历史",
        "import.submit": "导入",
        "import.file": "CSV 或 XLSX 导出文件",
        "import.hint.stock": "需要 SKU 和可用库存两列（如 `SKU`、`可用库存`）；仓库、名称、在途可选。"
                             "有问题的行会跳过并列出，其他数据不受影响。",
        "import.hint.sales": "需要 SKU、日期和销量三列（如 `SKU`、`日期`、`销量`）；仓库可选。"
                             "同一天再次导入会覆盖。",
        "import.no_file": "请选择 CSV 或 XLSX 文件。",
        "import.working": "📥 正在导入 *{file}*…",
        "import.done.stock": "📥 *{file}* 已导入：读取 {rows} {units} · 更新 {skus} 个 SKU · 拒绝 {rejected} 行",
        "import.done.sales": "📥 *{file}* 已导入（销量）：读取 {rows} {units} · {skus} 个 SKU 共 {stored} 条日销量 "
                             "· 拒绝 {rejected} 行",
        "import.rejected_line": "• 第 {number} {unit}：{reason}",
        "import.more_rejected": "…还有 {count} 行",
        "import.unknown_headers": "未使用的列：{headers}",
        "import.checking": "低于阈值的 SKU 正在发送预警。",
        "import.failed": "❌ 无法导入 *{file}*：{error}\n没有任何数据被修改。",
        "import.fetch_failed": "❌ 无法从 Slack 获取 *{file}*：{error}",
        "import.dm_help": "把 CSV 或 XLSX 库存导出文件发到这里，我会导入（销量历史请在消息里写 `销量`）。"
                          "`/stock help` 查看全部命令。",
        "modal.title": "已下补货单",
        "modal.submit": "保存",
        "modal.cancel": "取消",
        "modal.sku": "SKU {sku}",
        "modal.quantity": "补货数量",
        "modal.eta": "预计到货日期",
        "modal.note": "备注（供应商、采购单号…）",
        "reply.not_admin": "抱歉，只有阈值管理员可以执行此操作。请联系：{admins}。",
        "reply.threshold_saved": "✅ *{sku}*：预警线 {warning}，告急线 {critical}，预警发送到 {channel}。",
        "reply.threshold_was": "修改前：预警线 {warning}，告急线 {critical}。",
        "reply.threshold_scope": "阈值只针对仓库 *{warehouse}*。",
        "reply.status_title": "*库存数据源* · 下次检查 {next}",
        "reply.status_line": "{icon} `{source}` — 上次成功读取 {when}，{rows} 行{error}",
        "reply.status_error": "\n      最近错误 {when}：{error}",
        "reply.status_never": "从未",
        "reply.status_none": "还没有读取过任何库存数据源。请设置 `STOCK_SOURCE`"
                             "（csv:路径、xlsx:路径、file:文件夹、tiktok、sql），或推送到 `POST /api/stock`。",
        "reply.threshold_show": "*{sku}*：预警线 {warning}，告急线 {critical}，预警发送到 {channel}。\n"
                                "最后由 {user} 修改于 {when}。",
        "reply.no_threshold": "*{sku}* 还没有设置阈值。设置：`/threshold set {sku} 1500`。",
        "reply.threshold_removed": "🗑️ 已删除 *{sku}* 的阈值（原预警线 {warning}，告急线 {critical}），不再预警。",
        "reply.list_header": "*阈值列表{prefix}* — 共 {total} 个 SKU，第 {page}/{pages} 页",
        "reply.list_prefix": "（以 `{prefix}` 开头）",
        "reply.list_row": "• *{sku}*：预警线 {warning}，告急线 {critical}{channel}{auto}",
        "reply.list_more": "下一页：`/threshold list {args}page {next}`",
        "reply.list_empty": "还没有阈值{prefix}。设置：`/threshold set SKU123 1500`。",
        "reply.list_past_end": "没有第 {page} 页：共 {pages} 页。",
        "reply.history_header": "*{sku} 的修改记录*（最新在前）",
        "reply.history_set": "• {when} {user}：预警线 {old_warning} → {new_warning}，"
                             "告急线 {old_critical} → {new_critical}{channel}",
        "reply.history_remove": "• {when} {user}：已删除（原预警线 {old_warning}，告急线 {old_critical}）",
        "reply.history_empty": "*{sku}* 没有修改记录。",
        "reply.history_channel": "，频道 {old} → {new}",
        "reply.default_channel": "默认预警频道",
        "reply.stock_show": "*{sku}*{name}：可用 *{available}*{warehouses}\n{levels}\n{state}",
        "reply.stock_levels": "预警线 {warning}，告急线 {critical}。",
        "reply.stock_no_levels": "未设置阈值：`/threshold set {sku} 1500`。",
        "reply.stock_state_ok": "状态：正常。",
        "reply.stock_state_alert": "状态：{tier} 预警，自 {when} 起{acked}。",
        "reply.stock_state_acked": "，{user} 已确认",
        "reply.stock_state_below_covered": "状态：低于预警线，但在途 {on_order} 可覆盖。",
        "reply.stock_on_order": "在途：{on_order}。",
        "reply.stock_read": "读取于 {when}，来源 `{source}`。",
        "reply.stock_unknown": "还没有 *{sku}* 的库存数据。手动录入：`/stock set {sku} 1200`。",
        "reply.stock_saved": "✅ *{sku}*{warehouse}：可用库存已设为 {available}，正在检查。",
        "reply.stock_which_warehouse": "*{sku}* 在多个仓库有库存（{warehouses}）。请指定：`/stock set {sku} {available} "
                                       "warehouse 仓库名`。",
        "reply.unknown_sku": "找不到 *{sku}*：它没有阈值也没有库存数据。请检查拼写，或先设置阈值。",
        "reply.reorder_saved": "📦 已记录 *{sku}* 的补货单：{quantity}{eta}。"
                               "在途数量计入库存，覆盖预警线期间不再发库存预警。",
        "reply.reorder_list_header": "*未到货的补货单{sku}*",
        "reply.reorder_row": "• *{sku}*：{quantity}{eta}，由 {user} 提交{late}{note}",
        "reply.reorder_late": " — ⚠️ 已逾期",
        "reply.reorder_list_empty": "没有未到货的补货单{sku}。",
        "reply.reorder_cancelled": "已取消 *{sku}* 的 {count} 个补货单。",
        "reply.reorder_none_to_cancel": "*{sku}* 没有可取消的补货单。",
        "reply.ack_done": "已确认，谢谢。",
        "reply.alert_gone": "该预警已不存在（SKU 已删除或预警已结束）。",
        "reply.internal_error": "抱歉，系统出错，未做任何修改。请稍后再试。",
        "error.prefix": "⚠️ {message}",
        "error.missing_sku": "缺少 SKU。",
        "error.sku_too_long": "该 SKU 长 {length} 个字符，上限 {max}。",
        "error.sku_bad_chars": "`{sku}` 不是有效的 SKU：只能包含文字、数字和 - _ . / : + # ( )。",
        "error.missing_number": "缺少{what}。",
        "error.negative_number": "{what}不能为负数（收到 {value}）。",
        "error.not_a_number": "{what}必须是整数，而不是 `{value}`。",
        "error.not_a_decimal": "{what}必须是数字（例如 `150` 或 `12.5`），而不是 `{value}`。",
        "error.number_too_big": "{what} `{value}` 太大（上限 {max}）。",
        "error.zero_number": "{what}必须大于 0。",
        "error.missing_channel": "缺少频道：在 `channel` 后选择频道，例如 `channel #stock-alerts`。",
        "error.bad_channel": "`{value}` 不是可用的频道。请输入 `#` 并从 Slack 列表中选择频道（变蓝即可）。",
        "error.missing_eta": "缺少预计到货日期：请用 `2026-12-10` 或 `7d`。",
        "error.bad_eta": "`{value}` 不是日期：请用 `2026-12-10` 或 `7d`。",
        "error.eta_in_past": "预计到货日期 {eta} 已经过去。",
        "error.eta_too_far": "预计到货日期 {eta} 超过一年。",
        "error.too_long": "命令长 {length} 个字符，上限 {max}。",
        "error.unexpected_words": "无法理解 `{words}`。",
        "error.unknown_option": "未知选项 `{option}`（可用：{allowed}）。",
        "error.critical_above_warning": "告急线（{critical}）不能高于预警线（{warning}）。",
        "error.unknown_subcommand": "未知命令 `{sub}`（可用：{allowed}）。",
        "error.missing_warehouse": "`warehouse` 后缺少仓库名。",
        "error.missing_note": "备注为空。",
        "error.note_too_long": "备注太长（上限 {max} 个字符）。",
        "what.warning_level": "预警线",
        "what.critical_level": "告急线",
        "what.available": "可用库存",
        "what.quantity": "数量",
        "what.page": "页码",
        "usage.threshold": "*用法：*\n"
                           "`/threshold set SKU123 1500` — 库存 ≤1500 时预警（告急线默认为一半）\n"
                           "`/threshold set SKU123 1500 critical 500 channel #stock-alerts`\n"
                           "`/threshold set SKU123 300 warehouse US-WEST` — 只监控一个仓库\n"
                           "`/threshold get SKU123` · `/threshold list [前缀] [page 2]`\n"
                           "`/threshold remove SKU123` · `/threshold history SKU123`\n"
                           "`/threshold calc SKU123 daily 150 lead 7 safety 3d` — 计算补货点并列出算式"
                           "（安全库存可写 `3d` 天、`450` 件或 `95%` 服务水平）；不写 `daily` 则按销量历史"
                           "（`basis avg|max|p90|weighted`，`days 90`）\n"
                           "`/threshold auto SKU123|all|前缀* [lead 7] [service 98%]` — 每晚按销量自动重算 · "
                           "`/threshold auto off SKU123`\n"
                           "`/threshold lead SKU123 21 [pack 24] [moq 100] [cover 30]` — 交期、箱规、起订量",
        "usage.campaign": "*用法：*\n"
                          "`/campaign add SKU123|all|前缀* 2026-12-01 2026-12-03 x3 [名称]` — 直播或投流期间"
                          "预计销量乘以倍数\n"
                          "`/campaign list [SKU123]` · `/campaign remove 7`",
        "usage.stock": "*用法：*\n"
                       "`/stock SKU123` — 查看可用库存、阈值和预警状态\n"
                       "`/stock set SKU123 1200 [warehouse US-WEST]` — 录入盘点数量\n"
                       "`/stock status` — 各数据源：上次成功读取、行数、最近错误\n"
                       "`/stock import [sales]` — 上传 CSV/XLSX 导出文件（也可以私信发给我；"
                       "销量历史请在消息里写 `销量`）",
        "usage.reorder": "*用法：*\n"
                         "`/reorder SKU123 2000 [eta 2026-12-10 | eta 7d] [note 备注…]` — 记录补货单\n"
                         "`/reorder list [SKU123]` · `/reorder cancel SKU123`",
        "home.title": "Stockbot 库存助手",
        "home.summary": "*{open}* 个 SKU 需要处理 · 监控 {thresholds} 个 SKU · 上次检查 {when}",
        "home.never": "尚未检查",
        "home.row": "{emoji} *{sku}* {tier}：可用 {available}（线 {level}）{acked}",
        "home.acked": " · 已确认",
        "home.none": "所有监控的 SKU 都高于预警线。🎉",
        "home.more": "……还有 {count} 个。",
        "outlook.no_demand": "📉 历史中没有销量：无法计算可售天数。",
        "outlook.cover": "📉 约 {daily}/天 · 可售 *{cover} 天* · 预计 *{date}* 断货",
        "outlook.not_within_year": "一年内不会",
        "outlook.suggested": "📦 建议补货：*{quantity}*（交期 {lead} 天 + 备货天数）",
        "guidance.reorder_now": "📣 投放：*立即补货* — 库存只够 {cover} 天，补货要 {lead} 天。",
        "guidance.slow_ads": "📣 投放：补货到达前会断货 {days} 天 — *放缓投放、暂停追加预算、从转化改为触达*，直到到货。",
        "guidance.scale": "📣 投放：库存充足（可售 {cover} 天，超过交期 {lead} 天的两倍），可以放量。",
        "method.auto": "🤖 自动阈值：{days} 天有货日销量的{basis}，服务水平 {service}，交期 {lead} 天",
        "method.weekdays": "，按星期规律",
        "method.campaigns": "，活动：{names}",
        "basis.avg": "平均值",
        "basis.max": "最大值",
        "basis.p90": "90 分位",
        "basis.weighted": "近期加权平均",
        "calc.title": "*{sku}* · 补货点 *{warning}*（告急线 {critical}）",
        "calc.lead_demand": "  {daily}/天 × 交期 {lead} 天 = {units}",
        "calc.weekdays": "（按星期规律）",
        "calc.campaigns": "+ 交期内的活动：{units}（{names}）",
        "calc.safety_service": "+ 安全库存 {units} = z {z} × σ {sigma} × √{lead}，对应 {service} 的周期服务水平",
        "calc.safety_days": "+ 安全库存 {units}（{days} 天销量）",
        "calc.safety_units": "+ 安全库存 {units}",
        "calc.safety_none": "+ 无安全库存（可加 `safety 3d`、`safety 450` 或 `safety 95%`）",
        "calc.equals": "= *{warning}*",
        "calc.demand_typed": "日销量为手动输入。",
        "calc.demand_history": "日销量：{days} 天有货日销量的{basis}；σ {sigma}/天",
        "calc.stockout_left_out": "（已剔除 {days} 天断货日）",
        "calc.now": "*当前：* 可用 {available}",
        "button.apply": "应用 {warning} / {critical}",
        "reply.calc_no_history": "*{sku}* 还没有销量历史，无法计算日销量。请直接输入"
                                  "（`/threshold calc {sku} daily 150 lead 7 safety 3d`）"
                                  "或导入销量（`/stock import sales`）。",
        "reply.calc_service_needs_history": "服务水平需要日销量的波动，而 *{sku}* 没有销量历史。"
                                            "请改用 `safety 3d`（天）或 `safety 450`（件）。",
        "reply.applied": "✅ 已应用：*{sku}* 预警线 {warning}，告急线 {critical}。{auto_off}",
        "reply.auto_was_off": "该 SKU 的自动阈值已关闭（手动设置优先）。",
        "reply.auto_on": "🤖 已为 {count} 个 SKU 开启自动阈值：{skus}。每晚按销量重新计算。",
        "reply.auto_levels": "• *{sku}*：预警线 {warning}，告急线 {critical} — {method}",
        "reply.auto_waiting": "• *{sku}*：还没有销量历史 — 有销量后再计算，阈值暂不变",
        "reply.auto_off": "已为 {count} 个 SKU 关闭自动阈值：{skus}。当前阈值保持不变。",
        "reply.auto_no_match": "没有与 `{target}` 匹配的 SKU。请检查拼写，或先录入库存或阈值。",
        "reply.lead_saved": "✅ *{sku}*：交期 {lead} 天{extra}。",
        "reply.lead_pack": "，箱规 {pack}",
        "reply.lead_moq": "，起订量 {moq}",
        "reply.lead_cover": "，目标备货 {cover} 天",
        "reply.threshold_auto": "{method}，计算于 {when}",
        "reply.threshold_auto_pending": "🤖 自动：已开启，等待夜间计算",
        "reply.threshold_manual": "✍️ 手动设置（`/threshold calc {sku}` 可查看按销量的建议值）",
        "reply.campaign_added": "📅 已添加活动 #{id}：{target} {start} → {end} ×{multiplier}{name}。自动阈值会提前上调。",
        "reply.campaign_list_header": "*活动{sku}：*",
        "reply.campaign_row": "• #{id} {target} {start} → {end} ×{multiplier}{name} — {user}",
        "reply.campaign_list_empty": "没有计划中的活动{sku}。",
        "reply.campaign_removed": "🗑️ 已删除活动 #{id}（{target} {start} → {end} ×{multiplier}）。",
        "reply.campaign_not_found": "没有活动 #{id}。用 `/campaign list` 查看。",
        "reply.all_skus": "全部 SKU",
        "reply.by_auto": "Stockbot（自动）",
        "error.zero_days": "{what}至少为 1 天。",
        "error.days_too_many": "{what} {value} 天太长（上限 {max}）。",
        "error.missing_service": "缺少服务水平：例如 `95%`。",
        "error.bad_service": "`{value}` 不是服务水平：请用 50%–99.99%，例如 `95%`。",
        "error.missing_safety": "缺少安全库存：`3d`（天）、`450`（件）或 `95%`（服务水平）。",
        "error.bad_basis": "`{value}` 不是销量口径（可用：{allowed}）。",
        "error.missing_multiplier": "缺少倍数：例如 `x3` 表示平时销量的三倍。",
        "error.bad_multiplier": "`{value}` 不是倍数：请用 `x3` 或 `x1.5`（不能是 x1，上限 x100）。",
        "error.zero_multiplier": "x0 表示完全没有销量：如需停止监控请用 `/threshold remove`。",
        "error.missing_date": "缺少{what}日期：例如 `2026-12-01`。",
        "error.bad_date": "`{value}` 不是日期：请用 `2026-12-01`。",
        "error.date_in_past": "{day} 已经过去（今天是 {today}）。",
        "error.end_before_start": "活动结束日（{end}）早于开始日（{start}）。",
        "error.campaign_too_long": "活动最长 {max} 天。",
        "error.date_too_far": "{day} 超过一年以后。",
        "what.daily": "日销量",
        "what.lead": "交期",
        "what.safety_days": "安全天数",
        "what.safety_units": "安全库存",
        "what.history_days": "历史天数",
        "what.case_pack": "箱规",
        "what.moq": "起订量",
        "what.cover_days": "目标备货天数",
        "what.campaign_id": "活动编号",
        "what.start": "开始",
        "what.end": "结束",
    },
}


def t(lang: str, key: str, **values: object) -> Mrkdwn:
    """The sentence `key` in `lang` (falling back to English), filled with `values`.

    A plain `str` value is outside text (a SKU, a name, an error) and is escaped for Slack
    by `outside()`; a `Mrkdwn` value (a sentence, mention or date token Stockbot built)
    is placed as it is. Numbers are formatted as they are.
    """
    table = STRINGS.get(lang, STRINGS["en"])
    template = table.get(key) or STRINGS["en"][key]
    if not values:
        return Mrkdwn(template)
    safe = {name: outside(value) if isinstance(value, str) and not isinstance(value, Mrkdwn) else value
            for name, value in values.items()}
    return Mrkdwn(template.format(**safe))
