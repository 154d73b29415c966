"""Wording for `/stockbot config` (a workspace's own settings when installed to many workspaces),
merged into bot.i18n.STRINGS, English and Simplified Chinese."""

from __future__ import annotations

WORKSPACE_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "usage.stockbot": "*Usage:* (this workspace's admins)\n"
                          "`/stockbot config` — show this workspace's settings\n"
                          "`/stockbot config alert-channel #stock-alerts` · `ops-channel #stock-ops`\n"
                          "`/stockbot config admins @ana @li` — who may change settings and thresholds\n"
                          "`/stockbot config language en|zh`\n"
                          "`/stockbot config lead-days 5` · `overseas-lead-days 28` — default lead times\n"
                          "`/stockbot config push-token new` — a token for POST /api/stock and /api/sales "
                          "(shown once)\n"
                          "`/stockbot config tiktok app-key K app-secret S shop-cipher C access-token A "
                          "refresh-token R` · `/stockbot config tiktok off`",
        "error.config_usage": "That is not a `/stockbot config` setting I know.",
        "error.config_bad_user": "`{value}` is not a person: type `@` and pick them from the list.",
        "error.config_too_many_admins": "At most {max} admins.",
        "error.config_bad_language": "The language must be `en` or `zh`, not `{value}`.",
        "error.config_tiktok_usage": "Give TikTok settings as pairs: `app-key K app-secret S shop-cipher C "
                                     "access-token A refresh-token R` (any of them), or `off`.",
        "error.config_tiktok_bad_value": "The value after `{option}` must be one word of printable characters.",
        "config.title": "*Stockbot settings for this workspace*",
        "config.from_env": "This Stockbot serves one workspace: its settings come from the server's environment "
                           "(`.env`), so change them there and restart. Now:",
        "config.alert_channel": "Alert channel: {value}",
        "config.ops_channel": "Ops channel: {value}",
        "config.admins": "Admins: {value}",
        "config.language": "Language: {value}",
        "config.lead_days": "Default lead time: {domestic} days, overseas warehouses {overseas} days",
        "config.push_token": "Push token: {value}",
        "config.tiktok": "TikTok Shop: {value}",
        "config.not_set": "not set",
        "config.same_as_alerts": "the alert channel",
        "config.everyone": "everyone",
        "config.off": "off",
        "config.saved": "✅ Saved. {line}",
        "config.not_admin": "Sorry, only this workspace's Stockbot admins can see or change its settings. "
                            "Ask one of: {admins}.",
        "config.push_token_new": "🔑 This workspace's new push token (shown only now, only to you; the old one "
                                 "no longer works):\n`{token}`\nSend it as `Authorization: Bearer <token>` "
                                 "with POST /api/stock and /api/sales.",
        "config.tiktok_saved": "✅ TikTok Shop settings saved (secrets encrypted).",
        "config.tiktok_missing": "Still needed before Stockbot can read the shop: {missing}.",
        "config.tiktok_off": "TikTok Shop settings removed for this workspace.",
        "config.not_installed": "Stockbot is not installed in this workspace any more: install it again "
                                "from the install link.",
    },
    "zh": {
        "usage.stockbot": "*用法：*（本工作区管理员）\n"
                          "`/stockbot config` — 查看本工作区的设置\n"
                          "`/stockbot config alert-channel #stock-alerts` · `ops-channel #stock-ops`\n"
                          "`/stockbot config admins @ana @li` — 谁可以修改设置和阈值\n"
                          "`/stockbot config language en|zh`\n"
                          "`/stockbot config lead-days 5` · `overseas-lead-days 28` — 默认交期\n"
                          "`/stockbot config push-token new` — 用于 POST /api/stock 和 /api/sales 的令牌（只显示一次）\n"
                          "`/stockbot config tiktok app-key K app-secret S shop-cipher C access-token A "
                          "refresh-token R` · `/stockbot config tiktok off`",
        "error.config_usage": "这不是 `/stockbot config` 能识别的设置。",
        "error.config_bad_user": "`{value}` 不是成员：请输入 `@` 并从列表中选择。",
        "error.config_too_many_admins": "管理员最多 {max} 位。",
        "error.config_bad_language": "语言必须是 `en` 或 `zh`，而不是 `{value}`。",
        "error.config_tiktok_usage": "TikTok 设置请成对填写：`app-key K app-secret S shop-cipher C "
                                     "access-token A refresh-token R`（任选），或 `off`。",
        "error.config_tiktok_bad_value": "`{option}` 后面的值必须是一个由可打印字符组成的词。",
        "config.title": "*本工作区的 Stockbot 设置*",
        "config.from_env": "此 Stockbot 只服务一个工作区：设置来自服务器环境变量（`.env`），请在那里修改并重启。当前：",
        "config.alert_channel": "预警频道：{value}",
        "config.ops_channel": "运维频道：{value}",
        "config.admins": "管理员：{value}",
        "config.language": "语言：{value}",
        "config.lead_days": "默认交期：{domestic} 天，海外仓 {overseas} 天",
        "config.push_token": "推送令牌：{value}",
        "config.tiktok": "TikTok Shop：{value}",
        "config.not_set": "未设置",
        "config.same_as_alerts": "同预警频道",
        "config.everyone": "所有人",
        "config.off": "关闭",
        "config.saved": "✅ 已保存。{line}",
        "config.not_admin": "抱歉，只有本工作区的 Stockbot 管理员可以查看或修改设置。请联系：{admins}。",
        "config.push_token_new": "🔑 本工作区的新推送令牌（只显示这一次，只有你能看到；旧令牌已失效）：\n`{token}`\n"
                                 "调用 POST /api/stock 和 /api/sales 时以 `Authorization: Bearer <令牌>` 发送。",
        "config.tiktok_saved": "✅ TikTok Shop 设置已保存（密钥已加密）。",
        "config.tiktok_missing": "还需要以下设置才能读取店铺：{missing}。",
        "config.tiktok_off": "已删除本工作区的 TikTok Shop 设置。",
        "config.not_installed": "Stockbot 已不再安装在此工作区：请通过安装链接重新安装。",
    },
}
