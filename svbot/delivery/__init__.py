"""Delivery: the outbox, the dispatcher that drains it, and per-platform rate limits."""
