"""The engine's button payloads: "<turn>:<action>" or "<turn>:<action>:<index>".

    3:choose:2   option 2 of a choice          3:review-ok   the review list is right
    3:toggle:1   tick or untick option 1       3:change      change one answer in the review
    3:done       the ticks are complete        3:keep        keep the answer already given
    3:yes, 3:no  a yes/no question or check    3:back, 3:skip, 3:help, 3:status, 3:cancel, 3:restart

The turn number is the question's (`ConvState.turn`): a button from an older message carries an
older number, and the engine says so rather than act on it. The action is one of `Action`, the
index an option's place in the list. Payloads stay short: Telegram carries at most 64 bytes.

Buttons sent before this format ("7:o2", "7:ok", "7:chg") still work when pressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What an engine button does."""

    CHOOSE = "choose"  # with an index: that option of a choice
    TOGGLE = "toggle"  # with an index: tick or untick that option of a multi-choice
    DONE = "done"  # the multi-choice ticks are complete
    YES = "yes"
    NO = "no"
    KEEP = "keep"  # keep the answer already given
    REVIEW_OK = "review-ok"  # every answer in the review list is right
    CHANGE = "change"  # change an answer in the review list
    CARRY_ON = "carry-on"  # after a long gap: carry on where we were
    START_AGAIN = "start-again"  # after a long gap: begin again, at once
    BACK = "back"
    SKIP = "skip"
    HELP = "help"
    STATUS = "status"
    CANCEL = "cancel"
    RESTART = "restart"  # begin again, after asking "are you sure?"


INDEXED = frozenset({Action.CHOOSE, Action.TOGGLE})  # the actions that carry an index, and only they


@dataclass(frozen=True, slots=True)
class Press:
    """A pressed engine button."""

    turn: int
    action: Action
    index: int | None = None


def encode(turn: int, action: Action, index: int | None = None) -> str:
    """The payload of a button for the question of `turn`."""
    if (index is not None) != (action in INDEXED):
        raise ValueError(f"{action} {'needs' if action in INDEXED else 'takes no'} index")
    return f"{turn}:{action}" if index is None else f"{turn}:{action}:{index}"


def decode(payload: str) -> Press | None:
    """The button pressed, or None if the payload is not one the engine makes (or made)."""
    return _decode(payload, _FORMAT, _ACTIONS) or _decode(payload, _OLD_FORMAT, _OLD_ACTIONS)


def is_engine_payload(payload: str) -> bool:
    """Whether a payload is for the engine (it starts with a turn number), known or not."""
    return _ENGINE.match(payload) is not None


# Turn numbers grow by one a question: nine digits is more than any conversation reaches, and a
# bound keeps a forged payload of thousands of digits from becoming a huge integer.
_ENGINE = re.compile(r"\d+:")
_FORMAT = re.compile(r"(\d{1,9}):([a-z-]+)(?::(\d{1,4}))?")
_ACTIONS = {action.value: action for action in Action}
# Before the format above: one to four letters, then the index with no separator ("7:o2").
_OLD_FORMAT = re.compile(r"(\d{1,9}):([a-z]+)(\d{1,4})?")
_OLD_ACTIONS = {
    "o": Action.CHOOSE, "t": Action.TOGGLE, "d": Action.DONE, "y": Action.YES, "n": Action.NO,
    "k": Action.KEEP, "ok": Action.REVIEW_OK, "chg": Action.CHANGE, "cont": Action.CARRY_ON,
    "new": Action.START_AGAIN, "b": Action.BACK, "s": Action.SKIP, "h": Action.HELP, "st": Action.STATUS,
    "c": Action.CANCEL, "r": Action.RESTART,
}  # fmt: skip


def _decode(payload: str, form: re.Pattern[str], actions: dict[str, Action]) -> Press | None:
    match = form.fullmatch(payload)
    if match is None:
        return None
    turn, name, index = match.groups()
    action = actions.get(name)
    if action is None or (index is not None) != (action in INDEXED):
        return None
    return Press(int(turn), action, int(index) if index is not None else None)
