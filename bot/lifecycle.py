"""The ticket lifecycle (``docs/design.md``): the one transition table every handler asks.

Each transition names the states it leaves from, the state it enters (``None`` = unchanged,
:data:`PREVIOUS` = back to the state before the request being decided), and who may trigger it.
The state groups the scheduler, the reports and the lists select by are defined here, once. Guards that need ticket data (extension counts, the 利川 notice period)
live in :mod:`bot.tickets`, beside the data; this table is the single source of "may X happen now".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class State(StrEnum):
    """Ticket states (the ticket view's ``state``, ``docs/api.md``)."""

    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REPLY_PENDING = "reply_pending"
    ANSWERED = "answered"
    REOPENED = "reopened"
    GIVEBACK_PENDING = "giveback_pending"
    RETURNED = "returned"
    ARCHIVED = "archived"


STATE_LABELS: dict[State, str] = {
    State.REGISTERED: "已登记（待派单）",
    State.DISPATCHED: "已派单（待签收）",
    State.ACCEPTED: "办理中",
    State.REPLY_PENDING: "答复待审核",
    State.ANSWERED: "已答复（待回访）",
    State.REOPENED: "重办（待签收）",
    State.GIVEBACK_PENDING: "退单待审核",
    State.RETURNED: "已退回",
    State.ARCHIVED: "已归档",
}

# ---- state groups --------------------------------------------------------------------------
# Tuples in the order of ``State``, so the SQL that selects by them reads the same every time.

AWAITING_ACCEPT: tuple[State, ...] = (State.DISPATCHED, State.REOPENED)
"""Assigned to a unit and waiting for its 签收."""

WORKING_STATES: tuple[State, ...] = (State.DISPATCHED, State.ACCEPTED, State.REPLY_PENDING,
                                     State.REOPENED)
"""Assigned and not yet answered: the deadline reminders apply."""

REPORTING_STATES: tuple[State, ...] = (State.ACCEPTED, State.REPLY_PENDING)
"""Accepted and not yet answered: exactly the states in which a 进展 can be reported."""

OWING_STATES: tuple[State, ...] = (State.DISPATCHED, State.ACCEPTED, State.REPLY_PENDING,
                                   State.REOPENED, State.GIVEBACK_PENDING)
"""Assigned and not finished (a pending 退单 included): what counts as overdue past the deadline."""

OPEN_STATES: frozenset[State] = frozenset({State.REGISTERED, *OWING_STATES})
"""States in which the unit still owes work (deadlines and reminders apply)."""


def values(states: tuple[State, ...] | frozenset[State]) -> tuple[str, ...]:
    """The plain string values of a state group, in ``State`` order, for SQL ``IN`` lists."""
    return tuple(s.value for s in State if s in states)


class Actor(StrEnum):
    """Who triggers a transition."""

    OFFICE = "office"
    LEADER = "leader"
    HANDLER = "handler"  # any handler of the ticket's unit
    ASSIGNEE = "assignee"  # the 承办人 who accepted the ticket
    HOTLINE = "hotline"  # the intake API / import
    CITIZEN = "citizen"  # an SMS reply or the citizen page
    SYSTEM = "system"


class Transition(StrEnum):
    """Everything that can happen to a ticket."""

    DISPATCH = "dispatch"
    ACCEPT = "accept"
    FIRST_CONTACT = "first_contact"
    PROGRESS = "progress"
    REPLY = "reply"
    APPROVE_REPLY = "approve_reply"
    REJECT_REPLY = "reject_reply"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REJECT_EXTENSION = "reject_extension"
    REQUEST_GIVEBACK = "request_giveback"
    OFFICE_GIVEBACK = "office_giveback"
    APPROVE_GIVEBACK = "approve_giveback"
    REJECT_GIVEBACK = "reject_giveback"
    FEEDBACK_SATISFIED = "feedback_satisfied"
    FEEDBACK_UNSATISFIED = "feedback_unsatisfied"
    REOPEN = "reopen"
    URGE = "urge"
    EXTENSION_DECISION = "extension_decision"
    CLOSE = "close"


class Back(Enum):
    """A target that is not a fixed state."""

    PREVIOUS = "previous"


PREVIOUS = Back.PREVIOUS
"""Target: back to the state the ticket was in before the request now decided (a rejected 退单)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table."""

    sources: frozenset[State]
    target: State | Back | None  # None: the state does not change; PREVIOUS: see above
    actors: frozenset[Actor]


S = State
A = Actor
_WORKING = frozenset({S.ACCEPTED})
_ASSIGNED = frozenset({S.DISPATCHED, S.ACCEPTED, S.REOPENED})

TABLE: dict[Transition, Rule] = {
    # 利川 三(二): 工单和诉求原则上在登记后当天派发承办单位; re-dispatch while nobody has answered yet.
    Transition.DISPATCH: Rule(frozenset({S.REGISTERED, S.DISPATCHED, S.ACCEPTED, S.REOPENED}),
                              S.DISPATCHED, frozenset({A.OFFICE, A.HOTLINE})),
    Transition.ACCEPT: Rule(frozenset({S.DISPATCHED, S.REOPENED}), S.ACCEPTED,
                            frozenset({A.HANDLER, A.OFFICE})),
    Transition.FIRST_CONTACT: Rule(_WORKING, None, frozenset({A.ASSIGNEE})),
    Transition.PROGRESS: Rule(_WORKING | {S.REPLY_PENDING}, None, frozenset({A.ASSIGNEE})),
    Transition.REPLY: Rule(_WORKING, S.REPLY_PENDING, frozenset({A.ASSIGNEE})),
    Transition.APPROVE_REPLY: Rule(frozenset({S.REPLY_PENDING}), S.ANSWERED,
                                   frozenset({A.LEADER, A.OFFICE})),
    Transition.REJECT_REPLY: Rule(frozenset({S.REPLY_PENDING}), S.ACCEPTED,
                                  frozenset({A.LEADER, A.OFFICE})),
    Transition.REQUEST_EXTENSION: Rule(_WORKING, None, frozenset({A.ASSIGNEE})),
    Transition.APPROVE_EXTENSION: Rule(_WORKING | {S.REPLY_PENDING}, None,
                                       frozenset({A.LEADER, A.OFFICE})),
    Transition.REJECT_EXTENSION: Rule(_WORKING | {S.REPLY_PENDING}, None,
                                      frozenset({A.LEADER, A.OFFICE})),
    # 退单 is asked by whoever holds the ticket; the give-back window is the rule's ``giveback_within``.
    Transition.REQUEST_GIVEBACK: Rule(frozenset({S.DISPATCHED, S.ACCEPTED}), S.GIVEBACK_PENDING,
                                      frozenset({A.HANDLER})),
    # 松江 “明显不属于我局职权范围内的，由办公室及时联系有关部门说明理由，从原渠道退回” — before any dispatch.
    Transition.OFFICE_GIVEBACK: Rule(frozenset({S.REGISTERED}), S.RETURNED, frozenset({A.OFFICE})),
    Transition.APPROVE_GIVEBACK: Rule(frozenset({S.GIVEBACK_PENDING}), S.RETURNED,
                                      frozenset({A.LEADER, A.OFFICE})),
    Transition.REJECT_GIVEBACK: Rule(frozenset({S.GIVEBACK_PENDING}), PREVIOUS,
                                     frozenset({A.LEADER, A.OFFICE})),
    # 回访: the citizen (SMS, page), the hotline, the office; the unit's handlers and leaders only
    # where the ticket's rule sets ``followup_by_unit`` (checked in bot.followup, beside the rule).
    Transition.FEEDBACK_SATISFIED: Rule(frozenset({S.ANSWERED}), S.ARCHIVED,
                                        frozenset({A.CITIZEN, A.HOTLINE, A.OFFICE, A.HANDLER, A.LEADER})),
    Transition.FEEDBACK_UNSATISFIED: Rule(frozenset({S.ANSWERED, S.ARCHIVED}), S.REOPENED,
                                          frozenset({A.CITIZEN, A.HOTLINE, A.OFFICE, A.HANDLER, A.LEADER})),
    Transition.REOPEN: Rule(frozenset({S.ANSWERED, S.ARCHIVED, S.RETURNED}), S.REOPENED,
                            frozenset({A.HOTLINE, A.OFFICE})),
    Transition.URGE: Rule(OPEN_STATES, None, frozenset({A.HOTLINE, A.OFFICE})),
    Transition.EXTENSION_DECISION: Rule(OPEN_STATES, None, frozenset({A.HOTLINE, A.OFFICE})),
    Transition.CLOSE: Rule(frozenset(State) - {S.ARCHIVED}, S.ARCHIVED,
                           frozenset({A.HOTLINE, A.OFFICE})),
}


class LifecycleError(Exception):
    """A command that the ticket's state or the speaker's role does not allow."""

    def __init__(self, message: str, *, state: State | None = None, code: str = "illegal") -> None:
        super().__init__(message)
        self.state = state
        self.code = code


class IllegalTransition(LifecycleError):
    """The ticket is in a state where this cannot happen."""

    def __init__(self, transition: Transition, state: State) -> None:
        super().__init__(
            f"工单当前状态为「{STATE_LABELS[state]}」，不能{TRANSITION_LABELS[transition]}。",
            state=state, code="wrong_state")
        self.transition = transition


class NotAllowed(LifecycleError):
    """The speaker's role does not allow this."""

    def __init__(self, message: str, *, state: State | None = None) -> None:
        super().__init__(message, state=state, code="forbidden")


class GuardFailed(LifecycleError):
    """A rule of the procedure forbids it now (second extension, too late, missing elements…)."""

    def __init__(self, message: str, *, state: State | None = None, code: str = "guard") -> None:
        super().__init__(message, state=state, code=code)


TRANSITION_LABELS: dict[Transition, str] = {
    Transition.DISPATCH: "派单",
    Transition.ACCEPT: "签收",
    Transition.FIRST_CONTACT: "登记先行联系",
    Transition.PROGRESS: "报送进展",
    Transition.REPLY: "提交答复",
    Transition.APPROVE_REPLY: "审核通过答复",
    Transition.REJECT_REPLY: "驳回答复",
    Transition.REQUEST_EXTENSION: "申请延期",
    Transition.APPROVE_EXTENSION: "批准延期",
    Transition.REJECT_EXTENSION: "驳回延期",
    Transition.REQUEST_GIVEBACK: "申请退单",
    Transition.OFFICE_GIVEBACK: "由办公室退单",
    Transition.APPROVE_GIVEBACK: "批准退单",
    Transition.REJECT_GIVEBACK: "驳回退单",
    Transition.FEEDBACK_SATISFIED: "登记满意",
    Transition.FEEDBACK_UNSATISFIED: "登记不满意",
    Transition.REOPEN: "重新交办",
    Transition.URGE: "催办",
    Transition.EXTENSION_DECISION: "登记延期决定",
    Transition.CLOSE: "归档",
}


def check(transition: Transition, state: State | str, actors: set[Actor] | frozenset[Actor],
          *, previous: State | str | None = None) -> State:
    """Return the state after ``transition`` or raise; ``actors`` are the speaker's capacities.

    ``previous`` is the state before the request being decided; a transition whose target is
    :data:`PREVIOUS` needs it.

    >>> check(Transition.ACCEPT, "dispatched", {Actor.HANDLER})
    <State.ACCEPTED: 'accepted'>
    >>> check(Transition.REJECT_GIVEBACK, "giveback_pending", {Actor.LEADER}, previous="accepted")
    <State.ACCEPTED: 'accepted'>
    """
    state = State(state)
    rule = TABLE[transition]
    if state not in rule.sources:
        raise IllegalTransition(transition, state)
    if not (rule.actors & set(actors)):
        raise NotAllowed(_who_may(rule.actors, transition), state=state)
    if rule.target is PREVIOUS:
        if previous is None:
            raise ValueError(f"{transition.value} goes back to the previous state; pass previous=")
        return State(previous)
    return rule.target or state


def allowed(transition: Transition, state: State | str) -> bool:
    """Whether ``transition`` may happen in ``state`` (role aside)."""
    return State(state) in TABLE[transition].sources


def _who_may(actors: frozenset[Actor], transition: Transition) -> str:
    return who_may(actors, TRANSITION_LABELS[transition])


def who_may(actors: frozenset[Actor], what: str) -> str:
    """``只有…可以{what}。`` naming the people among ``actors`` (the refusal of a role check)."""
    names = {A.OFFICE: "办公室", A.LEADER: "单位领导", A.HANDLER: "本单位承办人员",
             A.ASSIGNEE: "签收该工单的承办人", A.HOTLINE: "热线系统", A.CITIZEN: "来电人",
             A.SYSTEM: "系统"}
    who = "、".join(names[a] for a in sorted(actors, key=list(Actor).index)
                    if a not in (A.HOTLINE, A.CITIZEN, A.SYSTEM))
    return f"只有{who}可以{what}。"
