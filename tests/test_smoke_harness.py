from tests.conftest import ALERT_CHANNEL, write_stock


def test_set_then_alert(bot, slack, stock_file):
    reply = bot.ask("/threshold", "set SKU123 1500")
    assert "SKU123" in reply and "1,500" in reply and "750" in reply
    write_stock(stock_file, {"SKU123": 1400})
    bot.checker.run_check()
    posts = slack.posts(ALERT_CHANNEL, top_level=True)
    assert len(posts) == 1
    assert "WARNING" in posts[0]["text"] and "SKU123" in posts[0]["text"]
