"""WeCom (企业微信): the 智能机器人 adapter, its crypto, wire bodies, cards and long connection."""
