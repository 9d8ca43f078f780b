"""Interactive cards with buttons (``docs/platforms/dingtalk.md``, cards; 卡片平台 templates).

DingTalk cards with callback buttons need a template built in card.dingtalk.com
(``card_template_id`` in the bot's config). The adapter fills these template variables, all
strings as ``cardParamMap`` requires:

- ``title``   — the card title;
- ``content`` — markdown body (the message text; mentions as ``@name``);
- ``buttons`` — JSON list ``[{"text", "color", "value"}]``; the template renders one button per
  item whose "回传请求" (callback) parameter ``value`` is the item's ``value``, i.e. our compact
  ``{"v":1,"cmd":..,"ticket":..,"token":..}``. An empty list hides the buttons (after a click).

Clicks come back on the Stream topic ``/v1.0/card/instances/callback`` (``callbackType: STREAM``).
"""

from __future__ import annotations

import json
from typing import Any

from adapters.cards import ButtonPayload
from bot.messages import ChatKind, OutgoingMessage

_COLORS = {"primary": "blue", "danger": "red", "default": "gray"}


def card_params(message: OutgoingMessage) -> dict[str, str]:
    """The ``cardParamMap`` for a message: title, markdown content and buttons."""
    content = message.text
    if message.mentions:
        content += "\n\n" + " ".join(f"@{m.name}" for m in message.mentions)
    buttons = [{"text": a.label, "color": _COLORS.get(a.style, "gray"),
                "value": ButtonPayload.of(a).to_json()} for a in message.actions]
    return {
        "title": message.title or "12345热线",
        "content": content,
        "buttons": json.dumps(buttons, ensure_ascii=False, separators=(",", ":")),
    }


def create_and_deliver_body(*, template_id: str, out_track_id: str, robot_code: str,
                            chat_kind: ChatKind, target: str,
                            message: OutgoingMessage) -> dict[str, Any]:
    """Body of ``POST /v1.0/card/instances/createAndDeliver`` for a group cid or a user's DM."""
    body: dict[str, Any] = {
        "cardTemplateId": template_id,
        "outTrackId": out_track_id,
        "callbackType": "STREAM",
        "cardData": {"cardParamMap": card_params(message)},
        "userIdType": 1,
    }
    if chat_kind is ChatKind.GROUP:
        deliver: dict[str, Any] = {"robotCode": robot_code}
        at = {m.ids["dingtalk"]: m.name for m in message.mentions if m.ids.get("dingtalk")}
        if at:
            deliver["atUserIds"] = at
        body |= {"openSpaceId": f"dtv1.card//IM_GROUP.{target}",
                 "imGroupOpenSpaceModel": {"supportForward": False},
                 "imGroupOpenDeliverModel": deliver}
    else:
        body |= {"openSpaceId": f"dtv1.card//IM_ROBOT.{target}",
                 "imRobotOpenSpaceModel": {"supportForward": False},
                 "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": robot_code}}
    return body


def update_body(out_track_id: str, message: OutgoingMessage) -> dict[str, Any]:
    """Body of ``PUT /v1.0/card/instances``: replace the listed variables, keep the rest."""
    return {
        "outTrackId": out_track_id,
        "cardData": {"cardParamMap": card_params(message)},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }
