"""The conversation state: one JSON document per conversation, stored every turn."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal[
    "idle", "ask", "confirm", "review", "review_pick", "resume", "confirm_restart", "paused", "done"
]


class ConvState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    dialogue: str | None = None
    mode: Mode = "idle"
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
    # Answers from the evidence bank we may offer again: key -> {"value": ..., "when": "March 2027"}
    suggestions: dict[str, Any] = Field(default_factory=dict)
