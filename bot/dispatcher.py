"""From an inbound message to a command's effect and its answer.

Runs inside the inbox's transaction: the ticket change, its audit rows, the answer in the outbox
and the inbox row's ``processed_at`` commit together, so a replayed event does nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import action_tokens
from bot.attachments import Received
from bot.commands import Call, CommandRegistry, CommandSpec
from bot.context import BotContext
from bot.directory import Person
from bot.grammar import Command, GrammarError, parse
from bot.lifecycle import LifecycleError, NotAllowed, State, who_may
from bot.messages import ChatKind, Destination, IncomingMessage, OutgoingMessage
from bot.outbox import Outbox, Target
from bot.ports import FileSource
from store.models import Ticket, UsedToken
from store.queries import tickets as tickets_q

log = logging.getLogger("hotline.dispatcher")


class Refusal(Exception):
    """A command refused before it reached a handler (stranger, wrong chat, bad button…)."""


class Dispatcher:
    """Turns IncomingMessages into ticket changes and answers, by the commands of ``commands``."""

    def __init__(self, ctx: BotContext, commands: CommandRegistry,
                 file_sources: Mapping[str, FileSource] | None = None) -> None:
        self.ctx = ctx
        self.commands = commands
        self.file_sources = dict(file_sources or {})  # platform → the adapter that downloads its files

    async def handle(self, s: AsyncSession, message: IncomingMessage) -> None:
        """Handle one inbound message inside transaction ``s``."""
        if message.files and message.action is None and (not message.text.strip() or not self._for_us(message)):
            await self._keep_files(s, message)  # a photo alone, or a group post not for the bot
            return
        if not self._for_us(message):
            return
        ctx = self.ctx
        reply_to = self._reply_destination(message)
        person = ctx.directory.sender(message.platform, message.sender_id)
        if person is None:
            ctx.metrics.commands.labels("-", "stranger").inc()
            ctx.service.audit(s, None, None, "command:-", message.text or _action_text(message), None, None,
                              {"reason": "unknown sender", "platform": message.platform},
                              outcome="refused", actor_name=f"未登记用户 {message.platform}:{message.sender_id}")
            ctx.outbox.add(s, Target.to_chat(reply_to), OutgoingMessage(
                "抱歉，您还不在本系统的人员名单中，暂时无法办理工单。请联系办公室添加。"), kind="answer")
            return
        command: Command | None = None
        received = await self._receive(s, message, person) if message.files else None
        try:
            command, via_button = self._command(message)
            async with s.begin_nested():
                call = Call(ctx=ctx, s=s, message=message, person=person, command=command,
                            commands=self.commands, via_button=via_button)
                answer = await self._run(call)
                answer += await self._attach(call)
            if received is not None and received.refusals:
                answer += "\n" + "\n".join(received.refusals)
        except (GrammarError, LifecycleError, Refusal) as exc:
            name = command.name if command else "-"
            ctx.metrics.commands.labels(name, "refused").inc()
            ticket = await self._quiet_ticket(s, command, person, message)
            ctx.service.audit(s, ticket, person, f"command:{name}", message.text or _action_text(message),
                              ticket.state if ticket else None, ticket.state if ticket else None,
                              {"reason": str(exc)[:500]}, outcome="refused")
            refusals = received.refusals if received is not None else []
            ctx.outbox.add(s, Target.to_chat(reply_to), OutgoingMessage(
                "\n".join([str(exc), *refusals]),
                mentions=(person.mention(),) if message.chat_kind is ChatKind.GROUP else ()),
                kind="answer")
            return
        ctx.metrics.commands.labels(command.name, "ok").inc()
        if self.commands[command.name].read_only:
            # Every command is kept in the trail (痕迹管理), the ones that change nothing too.
            t = call.ticket
            ctx.service.audit(s, t, person, f"command:{command.name}", command.raw,
                              t.state if t else None, t.state if t else None)
        ctx.outbox.add(s, Target.to_chat(reply_to), OutgoingMessage(
            answer, ticket=call.ticket.key if call.ticket else None), kind="answer",
            ticket_id=call.ticket.id if call.ticket else None)
        if via_button and message.message_id:
            self._update_card(s, message, reply_to, person, command, call)

    async def prefetch(self, message: IncomingMessage) -> None:
        """Download the message's files before its transaction (the inbox calls this at ingest)."""
        if self.ctx.directory.sender(message.platform, message.sender_id) is not None:
            await self.ctx.attachments.prefetch(self.ctx.http, self.file_sources.get(message.platform), message)

    async def _receive(self, s: AsyncSession, message: IncomingMessage, person: Person) -> Received:
        """Download and keep the message's files, pending for the sender's next command."""
        return await self.ctx.attachments.receive(s, self.ctx.http, self.file_sources.get(message.platform),
                                                  message, person.id)

    async def _keep_files(self, s: AsyncSession, message: IncomingMessage) -> None:
        """A photo or file alone: kept for the command that follows it (or quotes it). The sender
        hears of a refusal, and in a direct chat of the file kept too; a group stays quiet."""
        person = self.ctx.directory.sender(message.platform, message.sender_id)
        if person is None:
            return
        received = await self._receive(s, message, person)
        lines = list(received.refusals)
        if received.stored and message.chat_kind is ChatKind.DIRECT:
            minutes = self.ctx.config.attachments.window_minutes
            names = "、".join(a.filename for a in received.stored)
            lines.insert(0, f"已收到附件：{names}。请在 {minutes} 分钟内发送「进展/答复/退单/说明 工单号 内容」，"
                            "附件会一并附到工单上。")
        if lines:
            self.ctx.outbox.add(s, Target.to_chat(self._reply_destination(message)), OutgoingMessage(
                "\n".join(lines), mentions=(person.mention(),) if message.chat_kind is ChatKind.GROUP else ()),
                kind="answer")

    async def _attach(self, call: Call) -> str:
        """A command that takes evidence claims the sender's pending files; the answer's suffix."""
        spec = self.commands[call.command.name]
        if not spec.evidence or call.ticket is None:
            return ""
        rows = await self.ctx.attachments.claim(call.s, call.message, call.person.id, call.ticket, spec.name)
        if not rows:
            return ""
        t = call.ticket
        self.ctx.service.audit(call.s, t, call.person, "attach", None, t.state, t.state,
                               {"purpose": spec.name, "files": [a.filename for a in rows],
                                "ids": [a.id for a in rows]})
        return f"（已附 {len(rows)} 个附件：{'、'.join(a.filename for a in rows)}）"

    def _for_us(self, message: IncomingMessage) -> bool:
        """In a group, only @mentions, quotes of our messages and card clicks are for the bot."""
        if message.action is not None or message.chat_kind is ChatKind.DIRECT:
            return True
        return message.mentioned_bot or message.quoted_message_id is not None

    def _reply_destination(self, message: IncomingMessage) -> Destination:
        if message.chat_kind is ChatKind.DIRECT:
            return Destination(platform=message.platform, bot=message.bot, user_id=message.sender_id)
        return Destination(platform=message.platform, bot=message.bot, chat_id=message.chat_id)

    def _command(self, message: IncomingMessage) -> tuple[Command, bool]:
        action = message.action
        if action is None:
            return parse(message.text, self.commands.vocabulary), False
        cmd = str(action.get("cmd", ""))
        ticket = str(action.get("ticket", ""))
        if cmd not in self.commands or not self.commands[cmd].needs_ticket or "/" not in ticket:
            raise Refusal("这个按钮无法识别，请改用文字命令。发送「帮助」查看。")
        number = ticket.split("/", 1)[1]
        return Command(name=cmd, ref=number, rest=str(action.get("note", "")),
                       raw=f"[按钮] {cmd} {number}"), True

    async def _run(self, call: Call) -> str:
        spec = self.commands[call.command.name]
        if spec.needs_ticket:
            call.ticket = await self._resolve_ticket(call)
            assisting = {r.unit_code for r in await tickets_q.ticket_units(
                call.s, call.ticket.id, call.ticket.round, role="assist")}
            self._check_chat(call, spec, assisting)
            if call.via_button:
                await self._use_token(call, spec)
        self._check_roles(call, spec)
        if spec.content is not None and not call.command.rest:
            raise GrammarError(spec.content + call.usage)
        if spec.args is not None:
            call.args = spec.args(call)
        return await spec.handler(call)

    def _check_roles(self, call: Call, spec: CommandSpec) -> None:
        """The command's declared roles: the speaker must hold one of them (about the ticket)."""
        if not spec.roles:
            return
        if call.ticket is not None:
            caps = self.ctx.service.capacities(call.person, call.ticket)
        else:
            caps = set()
        if not spec.roles & caps:
            raise NotAllowed(who_may(spec.roles, "或".join(spec.words)),
                             state=None if call.ticket is None else State(call.ticket.state))

    async def _resolve_ticket(self, call: Call) -> Ticket:
        cmd, msg = call.command, call.message
        if call.via_button:
            source, number = str(msg.action["ticket"]).split("/", 1)  # type: ignore[index]
            ticket = await tickets_q.by_key(call.s, source, number)
            if ticket is None:
                raise Refusal("按钮对应的工单不存在。")
            return ticket
        units = None if call.person.is_office else self._visible_units(call.person)
        if cmd.ref is not None:
            found = await tickets_q.by_reference(call.s, cmd.ref, units=units)
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = "、".join(t.number for t in found[:5])
                raise GrammarError(f"「{cmd.ref}」对应多个工单：{names}。请写完整工单号。")
        quoted = await self._quoted_ticket(call.s, msg)
        if quoted is not None:
            if cmd.ref is not None:  # the token was content, not a reference
                call.command = Command(cmd.name, None, cmd.body or f"{cmd.ref} {cmd.rest}".strip(), cmd.raw,
                                       cmd.body)
            return quoted
        if cmd.ref is None:
            raise GrammarError(f"请写明工单号。{call.usage}")
        raise GrammarError(f"没有找到工单「{cmd.ref}」（或不属于您的单位）。{call.usage}")

    def _visible_units(self, person: Person) -> set[str]:
        d = self.ctx.directory
        return {code for code in d.units if d.may_see_unit(person, code)}

    async def _quoted_ticket(self, s: AsyncSession, msg: IncomingMessage) -> Ticket | None:
        if not msg.quoted_message_id:
            return None
        return await tickets_q.of_sent_message(s, msg.quoted_message_id)

    def _check_chat(self, call: Call, spec: CommandSpec, assisting: set[str]) -> None:
        """A unit never sees another unit's citizen data: the group must be the ticket's unit's (or
        an assisting unit's, ``assisting``)."""
        ticket, msg, person = call.ticket, call.message, call.person
        assert ticket is not None
        d = self.ctx.directory
        if not d.may_see_unit(person, ticket.unit_code) and not (
                spec.office_sees_all and person.is_office) and not assisting & person.units():
            raise Refusal(f"工单 {ticket.number} 不属于您的单位。")
        if msg.chat_kind is ChatKind.DIRECT:
            return
        chat_unit = d.unit_of_chat(msg.platform, msg.bot, msg.chat_id)
        if chat_unit is not None and chat_unit in d.office_units():
            return  # the office's own group may speak of every ticket
        if chat_unit is None or (chat_unit != ticket.unit_code and chat_unit not in assisting):
            raise Refusal(f"工单 {ticket.number} 不属于本群对应的单位，请在承办单位的群里或私聊中操作。")

    async def _use_token(self, call: Call, spec: CommandSpec) -> None:
        ctx, msg = call.ctx, call.message
        token = str(msg.action.get("token", "")) if msg.action else ""
        try:
            claims = action_tokens.verify(ctx.config.effective_secret, token, ctx.clock.now())
        except action_tokens.TokenError:
            raise Refusal("该按钮已失效，请用文字命令操作，例如：" + spec.example) from None
        if claims.purpose != call.command.name or claims.ticket != call.ticket.key:  # type: ignore[union-attr]
            raise Refusal("该按钮无效。")
        call.bound = dict(claims.extra) or None
        if spec.button_note and not call.command.rest:
            name, number = spec.name, call.ticket.number  # type: ignore[union-attr]
            raise GrammarError(f"{name}需要写明意见，请回复：{name} {number} 意见")
        try:
            async with call.s.begin_nested():
                call.s.add(UsedToken(token_id=claims.token_id, used_at=ctx.clock.now()))
        except IntegrityError:
            raise Refusal("该按钮已被使用过。") from None

    async def _quiet_ticket(self, s: AsyncSession, command: Command | None, person: Person,
                            message: IncomingMessage) -> Ticket | None:
        """The ticket a refused command spoke of, for the audit row (never raises)."""
        if command is None or command.ref is None:
            return None
        try:
            found = await tickets_q.by_reference(s, command.ref, units=None if person.is_office
                                                else self._visible_units(person))
        except Exception:
            return None
        return found[0] if len(found) == 1 else None

    def _update_card(self, s: AsyncSession, message: IncomingMessage, dest: Destination, person: Person,
                     command: Command, call: Call) -> None:
        ticket = call.ticket
        text = f"【已处理】{person.name} 已{command.name}" + (f" 工单 {ticket.number}" if ticket else "")
        payload = OutgoingMessage(text, ticket=ticket.key if ticket else None).to_dict()
        payload["update_message_id"] = message.message_id
        s.add(Outbox.row(dest, payload, channel="chat", ticket_id=ticket.id if ticket else None,
                         kind="card_update", now=self.ctx.clock.now()))


def _action_text(message: IncomingMessage) -> str:
    a = message.action or {}
    return f"[按钮] {a.get('cmd', '')} {a.get('ticket', '')}"
