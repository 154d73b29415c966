"""Every user-facing sentence, in English and Simplified Chinese.

Keys are looked up by the message builders in `bot.messages`; nothing else holds wording.
"""

from __future__ import annotations

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
        "alert.acked": "✅ Acknowledged by <@{user}> {when}",
        "alert.reorder": "📦 Reorder placed: {quantity} by <@{user}>{eta}",
        "alert.reorder_eta": ", ETA {eta}",
        "alert.reorder_late": "⚠️ Reorder of {quantity} is LATE: ETA was {eta} and stock has not recovered.",
        "alert.recovered": "✅ Recovered {when}: available {available}, above the warning level {level}.",
        "button.ack": "Acknowledge",
        "button.reordered": "Mark reorder placed",
        # thread replies
        "reminder": "⏰ Reminder: *{sku}* is still {tier}: available {available} (level {level}). "
                    "Nobody has acknowledged this alert yet.",
        "recovery": "✅ *{sku}* recovered: available {available}, above the warning level {level}.",
        "reorder_reply": "📦 <@{user}> placed a reorder of {quantity} for *{sku}*{eta}.",
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
                                "Last changed by <@{user}> {when}.",
        "reply.no_threshold": "No threshold is set for *{sku}*. Set one with `/threshold set {sku} 1500`.",
        "reply.threshold_removed": "🗑️ Threshold for *{sku}* removed (was warning {warning}, critical {critical}). "
                                   "No more alerts for it.",
        "reply.list_header": "*Thresholds{prefix}* — {total} SKUs, page {page} of {pages}",
        "reply.list_prefix": " starting with `{prefix}`",
        "reply.list_row": "• *{sku}*: warning {warning}, critical {critical}{channel}",
        "reply.list_more": "Next page: `/threshold list {args}page {next}`",
        "reply.list_empty": "No thresholds{prefix} yet. Set one with `/threshold set SKU123 1500`.",
        "reply.list_past_end": "There is no page {page}: the list has {pages} page(s).",
        "reply.history_header": "*History of {sku}* (newest first)",
        "reply.history_set": "• {when} <@{user}>: warning {old_warning} → {new_warning}, "
                             "critical {old_critical} → {new_critical}{channel}",
        "reply.history_remove": "• {when} <@{user}>: removed (was warning {old_warning}, critical {old_critical})",
        "reply.history_empty": "No changes recorded for *{sku}*.",
        "reply.history_channel": ", channel {old} → {new}",
        "reply.default_channel": "the default alert channel",
        "reply.stock_show": "*{sku}*{name}: available *{available}*{warehouses}\n{levels}\n{state}",
        "reply.stock_levels": "Warning at {warning}, critical at {critical}.",
        "reply.stock_no_levels": "No threshold set: `/threshold set {sku} 1500`.",
        "reply.stock_state_ok": "State: OK.",
        "reply.stock_state_alert": "State: {tier} alert open since {when}{acked}.",
        "reply.stock_state_acked": ", acknowledged by <@{user}>",
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
        "reply.reorder_row": "• *{sku}*: {quantity}{eta} by <@{user}>{late}{note}",
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
                           "`/threshold remove SKU123` · `/threshold history SKU123`",
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
    },
    "zh": {
        "tier.WARNING": "WARNING 库存预警",
        "tier.CRITICAL": "CRITICAL 库存告急",
        "tier.OUT_OF_STOCK": "OUT OF STOCK 已断货",
        "tier.OK": "OK 正常",
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
        "alert.acked": "✅ <@{user}> 已确认 {when}",
        "alert.reorder": "📦 已下补货单：{quantity}，由 <@{user}> 提交{eta}",
        "alert.reorder_eta": "，预计到货 {eta}",
        "alert.reorder_late": "⚠️ 补货 {quantity} 已逾期：预计 {eta} 到货，库存仍未恢复。",
        "alert.recovered": "✅ 已恢复 {when}：可用 {available}，高于预警线 {level}。",
        "button.ack": "确认",
        "button.reordered": "已下补货单",
        "reminder": "⏰ 提醒：*{sku}* 仍为 {tier}：可用 {available}（线 {level}）。此预警尚无人确认。",
        "recovery": "✅ *{sku}* 已恢复：可用 {available}，高于预警线 {level}。",
        "reorder_reply": "📦 <@{user}> 为 *{sku}* 下了补货单 {quantity}{eta}。",
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
                                "最后由 <@{user}> 修改于 {when}。",
        "reply.no_threshold": "*{sku}* 还没有设置阈值。设置：`/threshold set {sku} 1500`。",
        "reply.threshold_removed": "🗑️ 已删除 *{sku}* 的阈值（原预警线 {warning}，告急线 {critical}），不再预警。",
        "reply.list_header": "*阈值列表{prefix}* — 共 {total} 个 SKU，第 {page}/{pages} 页",
        "reply.list_prefix": "（以 `{prefix}` 开头）",
        "reply.list_row": "• *{sku}*：预警线 {warning}，告急线 {critical}{channel}",
        "reply.list_more": "下一页：`/threshold list {args}page {next}`",
        "reply.list_empty": "还没有阈值{prefix}。设置：`/threshold set SKU123 1500`。",
        "reply.list_past_end": "没有第 {page} 页：共 {pages} 页。",
        "reply.history_header": "*{sku} 的修改记录*（最新在前）",
        "reply.history_set": "• {when} <@{user}>：预警线 {old_warning} → {new_warning}，"
                             "告急线 {old_critical} → {new_critical}{channel}",
        "reply.history_remove": "• {when} <@{user}>：已删除（原预警线 {old_warning}，告急线 {old_critical}）",
        "reply.history_empty": "*{sku}* 没有修改记录。",
        "reply.history_channel": "，频道 {old} → {new}",
        "reply.default_channel": "默认预警频道",
        "reply.stock_show": "*{sku}*{name}：可用 *{available}*{warehouses}\n{levels}\n{state}",
        "reply.stock_levels": "预警线 {warning}，告急线 {critical}。",
        "reply.stock_no_levels": "未设置阈值：`/threshold set {sku} 1500`。",
        "reply.stock_state_ok": "状态：正常。",
        "reply.stock_state_alert": "状态：{tier} 预警，自 {when} 起{acked}。",
        "reply.stock_state_acked": "，<@{user}> 已确认",
        "reply.stock_state_below_covered": "状态：低于预警线，但在途 {on_order} 可覆盖。",
        "reply.stock_on_order": "在途：{on_order}。",
        "reply.stock_read": "读取于 {when}，来源 `{source}`。",
        "reply.stock_unknown": "还没有 *{sku}* 的库存数据。手动录入：`/stock set {sku} 1200`。",
        "reply.stock_saved": "✅ *{sku}*{warehouse}：可用库存已设为 {available}，正在检查。",
        "reply.stock_which_warehouse": "*{sku}* 在多个仓库有库存（{warehouses}）。请指定：`/stock set {sku} {available} "
                                       "warehouse 仓库名`。",
        "reply.unknown_sku": "找不到 *{sku}*：它没有阈值也没有库存数据。请检查拼写，或先设置阈值。",
        "reply.reorder_saved": "📦 已记录 *{sku}* 的补货单：{quantity}{eta}。"
                               "在途数量计入库存，覆盖预警线期间不再发 WARNING。",
        "reply.reorder_list_header": "*未到货的补货单{sku}*",
        "reply.reorder_row": "• *{sku}*：{quantity}{eta}，由 <@{user}> 提交{late}{note}",
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
                           "`/threshold remove SKU123` · `/threshold history SKU123`",
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
    },
}


def t(lang: str, key: str, **values: object) -> str:
    """The sentence `key` in `lang` (falling back to English), filled with `values`."""
    table = STRINGS.get(lang, STRINGS["en"])
    template = table.get(key) or STRINGS["en"][key]
    return template.format(**values) if values else template
