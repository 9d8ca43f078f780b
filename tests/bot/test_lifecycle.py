"""The transition table (docs/design.md, lifecycle), row by row: every allowed move, every refusal."""

from __future__ import annotations

import pytest

from bot.lifecycle import (
    OPEN_STATES,
    OWING_STATES,
    PREVIOUS,
    REPORTING_STATES,
    STATE_LABELS,
    TABLE,
    WORKING_STATES,
    Actor,
    IllegalTransition,
    LifecycleError,
    NotAllowed,
    State,
    Transition,
    allowed,
    check,
    values,
)

CASES = [(t, s) for t in Transition for s in State]
BEFORE = State.ACCEPTED  # the state a request was asked in, for targets that go back to it


def _after(transition: Transition, state: State) -> State:
    """What the table says ``transition`` from ``state`` leads to."""
    target = TABLE[transition].target
    return BEFORE if target is PREVIOUS else (target or state)


def _id(case: tuple[Transition, State]) -> str:
    return f"{case[0].value}-from-{case[1].value}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_transition_from_state(case: tuple[Transition, State]) -> None:
    transition, state = case
    rule = TABLE[transition]
    if state in rule.sources:
        assert allowed(transition, state)
        for actor in rule.actors:
            after = check(transition, state, {actor}, previous=BEFORE)
            assert after == _after(transition, state)
    else:
        assert not allowed(transition, state)
        for actor in Actor:  # whoever asks, the state refuses first
            with pytest.raises(IllegalTransition) as info:
                check(transition, state, {actor})
            assert info.value.state == state
            assert info.value.code == "wrong_state"
            assert STATE_LABELS[state] in str(info.value)  # names the current state in Chinese


@pytest.mark.parametrize("transition", list(Transition))
def test_wrong_actor_is_not_allowed(transition: Transition) -> None:
    rule = TABLE[transition]
    wrong = [a for a in Actor if a not in rule.actors]
    assert wrong, f"{transition} may be triggered by anyone"
    for state in rule.sources:
        for actor in wrong:
            with pytest.raises(NotAllowed) as info:
                check(transition, state, {actor})
            assert isinstance(info.value, LifecycleError)
            assert info.value.state == state and info.value.code == "forbidden"
            assert str(info.value).startswith("只有")
        with pytest.raises(NotAllowed):
            check(transition, state, set())
        # One right capacity among wrong ones is enough.
        some_right = next(iter(rule.actors))
        assert check(transition, state, {*wrong, some_right}, previous=BEFORE) == _after(transition, state)


def test_the_table_follows_design_section_5() -> None:
    # The main path of the diagram, hand-written here so a change to the table has to be deliberate.
    path = [
        (Transition.DISPATCH, State.REGISTERED, State.DISPATCHED),
        (Transition.ACCEPT, State.DISPATCHED, State.ACCEPTED),
        (Transition.REPLY, State.ACCEPTED, State.REPLY_PENDING),
        (Transition.REJECT_REPLY, State.REPLY_PENDING, State.ACCEPTED),
        (Transition.APPROVE_REPLY, State.REPLY_PENDING, State.ANSWERED),
        (Transition.FEEDBACK_SATISFIED, State.ANSWERED, State.ARCHIVED),
        (Transition.FEEDBACK_UNSATISFIED, State.ANSWERED, State.REOPENED),
        (Transition.ACCEPT, State.REOPENED, State.ACCEPTED),
        (Transition.REQUEST_GIVEBACK, State.DISPATCHED, State.GIVEBACK_PENDING),
        (Transition.APPROVE_GIVEBACK, State.GIVEBACK_PENDING, State.RETURNED),
        (Transition.DISPATCH, State.ACCEPTED, State.DISPATCHED),  # redispatch
    ]
    for transition, before, after in path:
        rule = TABLE[transition]
        assert before in rule.sources and (rule.target or before) == after, transition
    # Extensions sit beside the main state: they never change it.
    for t in (Transition.REQUEST_EXTENSION, Transition.APPROVE_EXTENSION, Transition.REJECT_EXTENSION,
              Transition.URGE, Transition.EXTENSION_DECISION, Transition.PROGRESS, Transition.FIRST_CONTACT):
        assert TABLE[t].target is None
    # Only the 承办人 who accepted works the ticket; handlers may not approve their own reply.
    assert TABLE[Transition.REPLY].actors == {Actor.ASSIGNEE}
    assert Actor.HANDLER not in TABLE[Transition.APPROVE_REPLY].actors
    assert Actor.ASSIGNEE not in TABLE[Transition.APPROVE_EXTENSION].actors
    # Nothing leaves 已归档 except a reopen or 不满意.
    leaving_archived = {t for t, r in TABLE.items() if State.ARCHIVED in r.sources}
    assert leaving_archived == {Transition.REOPEN, Transition.FEEDBACK_UNSATISFIED}


def test_a_rejected_giveback_goes_back_to_the_state_before_the_request() -> None:
    assert TABLE[Transition.REJECT_GIVEBACK].target is PREVIOUS
    for before in (State.DISPATCHED, State.ACCEPTED):
        assert check(Transition.REJECT_GIVEBACK, State.GIVEBACK_PENDING, {Actor.LEADER},
                     previous=before) == before
    with pytest.raises(ValueError):  # the table cannot guess where "back" is
        check(Transition.REJECT_GIVEBACK, State.GIVEBACK_PENDING, {Actor.LEADER})


def test_state_groups_are_nested_as_the_procedure_reads() -> None:
    assert set(REPORTING_STATES) < set(WORKING_STATES) < set(OWING_STATES) < OPEN_STATES
    assert OPEN_STATES - set(OWING_STATES) == {State.REGISTERED}
    assert values(OWING_STATES) == ("dispatched", "accepted", "reply_pending", "reopened",
                                    "giveback_pending")
    assert all(type(v) is str for v in values(OPEN_STATES))
