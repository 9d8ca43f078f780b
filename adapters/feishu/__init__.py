"""Feishu (飞书): the app-bot adapter, its crypto, cards, event decoding and long connection."""
