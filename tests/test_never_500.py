"""Whatever arrives, Slack never gets a 500 from Stockbot."""

from __future__ import annotations

import json
from urllib.parse import urlencode


def test_listener_failing_before_ack_still_answers_200(bot):
    # A modal submission whose state has no values makes the handler fail before ack();
    # Bolt's default would be a 500 and Slack would show a generic error.
    payload = {"type": "view_submission", "team": {"id": "T0TEST"}, "user": {"id": "U1"}, "api_app_id": "A1",
               "view": {"id": "V1", "type": "modal", "callback_id": "reorder_modal", "private_metadata": "1",
                        "state": {}}}
    result = bot.post_signed(urlencode({"payload": json.dumps(payload)}))
    assert result.status == 200
    assert result.body == ""
