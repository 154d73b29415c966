"""Stockbot: warns e-commerce sellers in Slack before a SKU runs out of stock."""
