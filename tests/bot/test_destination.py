"""A destination names a place only; rows written before the chat bindings kept the robots' keys
still load, and their keys are dropped (the adapter reads them from the chat binding)."""

from __future__ import annotations

from bot.messages import Destination


def test_destination_round_trips_without_credentials() -> None:
    dest = Destination(platform="wecom", bot="main", chat_id="wr1")
    assert dest.to_dict() == {"platform": "wecom", "bot": "main", "chat_id": "wr1"}
    assert Destination.from_dict(dest.to_dict()) == dest


def test_an_older_row_with_a_robot_key_still_loads() -> None:
    row = {"platform": "dingtalk", "bot": "main", "chat_id": "cid1", "robot_token": "t", "robot_secret": "s"}
    assert Destination.from_dict(row) == Destination(platform="dingtalk", bot="main", chat_id="cid1")
