"""Evidence in chat: 说明 (a 不满意 explanation with its 政策文件) and 附件 (the ticket's files).

Photos and files are attached by ``bot.attachments``: a command declared with ``evidence=True``
(进展, 答复, 退单, 说明) takes the sender's pending files of that chat.
"""

from __future__ import annotations

from bot.attachments import summary_line
from bot.commands import Call
from bot.notices import fmt_time
from handlers.registry import command
from store.queries import attachments as attachments_q


# 松江: 不满意 "提供相关政策文件"; 诉求过高/不属实 "印证资料" — the unit's explanation, with its files.
@command("说明", "情况说明", example="说明 202611230001 已按政策答复，附相关政策文件（可先发送图片或文件）",
         content="请写明说明内容。", evidence=True)
async def explanation(call: Call) -> str:
    """说明 NO 内容: the unit's explanation (after a 不满意, or for 诉求过高/不属实), files attached."""
    assert call.ticket is not None
    t = call.ticket
    call.ctx.service.audit(call.s, t, call.person, "explanation", call.raw, t.state, t.state,
                           {"content": call.command.rest, "feedback": t.feedback})
    return f"已记录工单 {t.number} 的情况说明。"


@command("附件", example="附件 202611230001", read_only=True, office_sees_all=True)
async def attachments(call: Call) -> str:
    """附件 NO: the ticket's photos and files, with who attached them and when."""
    assert call.ticket is not None
    ctx, t = call.ctx, call.ticket
    rows = await attachments_q.of_ticket(call.s, t.id)
    if not rows:
        return (f"工单 {t.number} 还没有附件。先发送图片或文件，再发「进展/答复/退单/说明 {t.number} 内容」"
                "即可附上。")
    lines = [f"工单 {t.number} 的附件（{len(rows)} 个）："]
    lines += [f"{i}. " + summary_line(a, ctx.attachments.who(a), fmt_time(ctx.calendar, a.attached_at))
              for i, a in enumerate(rows, 1)]
    return "\n".join(lines)
