"""The functional core: pure functions over plain data. No Slack, no database imports."""
