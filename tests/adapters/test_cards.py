"""The one card-button codec: every platform's buttons round-trip through it, foreign or newer
values decode to None."""

from __future__ import annotations

import json

import pytest

from adapters.cards import ButtonPayload
from adapters.dingtalk.cards import card_params
from adapters.feishu.cards import build_card
from adapters.wecom.cards import button_card
from bot.messages import Action, OutgoingMessage

ACTION = Action("同意", "同意", "12345/A123", "tok", "primary")
WANTED = {"cmd": "同意", "ticket": "12345/A123", "token": "tok"}


def test_every_platform_carries_the_same_versioned_payload() -> None:
    payload = ButtonPayload.of(ACTION)
    assert payload.to_dict() == {"v": 1, **WANTED}
    message = OutgoingMessage("请审核", actions=(ACTION,))
    [feishu_button] = build_card(title="", text="x", markdown=False, actions=(ACTION,))["elements"][-1]["actions"]
    [wecom_button] = button_card(message, "task")["button_list"]
    [dingtalk_button] = json.loads(card_params(message)["buttons"])
    assert feishu_button["value"] == payload.to_dict()
    assert wecom_button["key"] == payload.to_json()
    assert dingtalk_button["value"] == payload.to_json()
    for value in (feishu_button["value"], wecom_button["key"], dingtalk_button["value"]):
        assert ButtonPayload.action_from(value) == WANTED


@pytest.mark.parametrize("value", [None, "", "not json", "[]", {"v": 2, **WANTED}, {"v": 1, **WANTED, "cmd": ""},
                                   {"v": 1, "cmd": "同意", "ticket": "12345/A123"}, {"v": "1", **WANTED}])
def test_foreign_values_are_none(value: object) -> None:
    assert ButtonPayload.decode(value) is None
    assert ButtonPayload.action_from(value) is None
