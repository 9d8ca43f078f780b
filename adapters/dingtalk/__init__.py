"""DingTalk (钉钉): the app-robot adapter, its crypto, cards, outbound bodies and Stream connection."""
