"""The one card-button codec: every platform's buttons round-trip through it, foreign or newer
values decode to None."""

from __future__ import annotations

import pytest

from adapters.cards import ButtonPayload, decode_click
from adapters.dingtalk.decode import encode_action_value
from adapters.feishu.cards import button_value
from adapters.wecom.cards import decode_action_key, encode_action_key
from bot.messages import Action

ACTION = Action("同意", "同意", "12345/A123", "tok", "primary")
WANTED = {"cmd": "同意", "ticket": "12345/A123", "token": "tok"}


def test_every_platform_carries_the_same_versioned_payload() -> None:
    payload = ButtonPayload.of(ACTION)
    assert payload.to_dict() == {"v": 1, **WANTED}
    assert button_value(ACTION) == payload.to_dict()
    assert encode_action_key(ACTION) == payload.to_json()
    assert encode_action_value(ACTION.command, ACTION.ticket, ACTION.token) == payload.to_json()
    for decoded in (decode_click(button_value(ACTION)), decode_action_key(encode_action_key(ACTION)),
                    decode_click(payload.to_json())):
        assert decoded == WANTED


@pytest.mark.parametrize("value", [None, "", "not json", "[]", {"v": 2, **WANTED}, {"v": 1, **WANTED, "cmd": ""},
                                   {"v": 1, "cmd": "同意", "ticket": "12345/A123"}, {"v": "1", **WANTED}])
def test_foreign_values_are_none(value: object) -> None:
    assert ButtonPayload.decode(value) is None
    assert decode_click(value) is None
