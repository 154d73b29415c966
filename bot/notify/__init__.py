"""Alerts beyond Slack: e-mail, DingTalk, WeCom, Feishu, SMS and webhooks (`/notify`)."""
