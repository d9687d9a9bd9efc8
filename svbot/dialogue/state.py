"""The conversation state: one JSON document per conversation, stored every turn."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Mode(StrEnum):
    """What the conversation is waiting for. The values are stored: keep them as they are."""

    IDLE = "idle"  # no walk-through under way
    ASK = "ask"  # the answer to the question at `cursor`
    CONFIRM = "confirm"  # yes or no to "just to check" or "still right?", about `pending`
    REVIEW = "review"  # "all correct?" about the list of answers
    REVIEW_PICK = "review_pick"  # the number of the answer to change
    RESUME = "resume"  # "carry on, or start again?" after a long gap
    CONFIRM_RESTART = "confirm_restart"  # yes or no to "start again from the beginning?"
    PAUSED = "paused"  # "start" after "cancel"
    DONE = "done"  # nothing: the walk-through is finished


class ConvState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    dialogue: str | None = None
    mode: Mode = Mode.IDLE
    cursor: str | None = None  # the answer key of the question being asked
    answers: dict[str, Any] = Field(default_factory=dict)  # flat: "per_objective.lunch.people" -> 42
    skipped: list[str] = Field(default_factory=list)  # skipped, or "I don't know"
    pending: Any = None  # a value awaiting "just to check", or a multi-choice selection so far
    confirm_text: str | None = None
    attempts: int = 0  # failed tries at the current question
    turn: int = 0  # bumped at each new question; buttons carry it so stale ones are spotted
    back_to_review: bool = False  # an answer is being changed from the review list
    resume_mode: Mode | None = None  # the mode to go back to after "welcome back"
    last_active: datetime | None = None
    # Answers from the evidence bank we may offer again: key -> {"value": ..., "when": "March 2027"};
    # under ANY_ITEM + step id, the answer to that question about any objective.
    suggestions: dict[str, Any] = Field(default_factory=dict)

    @property
    def under_way(self) -> bool:
        """A walk-through has started and is not finished: what is typed may be its answer."""
        return self.dialogue is not None and self.mode not in (Mode.IDLE, Mode.DONE)


ANY_ITEM = "*."  # a suggestion key for "this question, under any objective"
