"""The core's own messages: what crosses between the channels and the core, and what the outbox holds.

A channel adapter turns a platform update into an :class:`Inbound` and renders each :class:`Outbound`
for its platform. Outbound text is plain text: every renderer escapes it for its own target, so
nothing a user typed is ever interpreted as markup. A :class:`Sender` sends unprompted messages
(reminders, broadcasts) and reports failures as :class:`RetryLater` or :class:`PermanentFailure`.
Nothing here knows any platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did: typed text or pressed a button."""

    platform: str  # "console", "slack", "telegram"
    user_id: str  # the platform's id for the person
    chat_id: str  # where to answer: a DM, a channel thread, a Telegram chat
    text: str | None = None  # what they typed
    payload: str | None = None  # the value of a button they pressed
    event_id: str | None = None  # the platform's id for this delivery, for de-duplication
    received_at: datetime | None = None
    user_name: str | None = None
    thread_id: str | None = None  # Slack thread, if the conversation lives in one
    is_group: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str
    selected: bool = False  # ticked, in a multi-choice list
    style: Literal["default", "primary", "danger"] = "default"


@dataclass(frozen=True, slots=True)
class FileOut:
    filename: str
    content: bytes
    mime_type: str
    title: str = ""


InputHint = Literal["text", "long_text", "number", "date", "choice", "multi_choice", "yes_no", "none"]


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to send. Renderers map it to Block Kit, Telegram HTML or numbered console lines."""

    text: str
    buttons: tuple[Button, ...] = ()  # choices and actions, in order
    multi_select: bool = False  # buttons toggle; a Done button submits
    controls: tuple[Button, ...] = ()  # back / skip / help: shown smaller, after the choices
    input_hint: InputHint = "none"  # lets a renderer offer a date picker or a modal
    replace_previous: bool = False  # edit the last message (multi-choice toggles) instead of sending
    markdown: bool = False  # text is Markdown we generated (a statement), not user-facing plain text
    file: FileOut | None = None
    kind: Literal["question", "info", "error", "reminder"] = "info"
    meta: dict[str, str] = field(default_factory=dict)
    # For the person alone (a statement, a report, deadlines): asked for in a group, the channel sends
    # it to the person's private chat instead, with a short note in the group.
    private: bool = False
    # In a group, a command about the person's organisation ("due", "write report"): the core did not
    # run it. The channel runs the same Inbound again in the person's private chat (is_group False)
    # and posts this message's text in the group as the note (or how to open a private chat).
    take_private: bool = False


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """A command a platform may list in its menu (Telegram's "/" list), made from a registered intent."""

    command: str  # without the "/": "due"
    description: str
    roles: frozenset[str] = frozenset()  # empty: everyone; otherwise people with one of these roles


class Sender(Protocol):
    """Sends one message unprompted (a reminder, a broadcast); returns the platform's message id."""

    async def send(self, chat_id: str, message: Outbound) -> str | None: ...


class DeliveryError(Exception):
    """A send failed. Senders raise one of the two kinds below so the dispatcher knows what to do."""


class RetryLater(DeliveryError):
    """The platform asked us to slow down (HTTP 429) or had a passing fault: try again later."""

    def __init__(self, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentFailure(DeliveryError):
    """It will never work: the user blocked the bot, the channel is gone. Record it, tell an admin."""


def outbound_to_dict(message: Outbound) -> dict:
    """A JSON-safe form, for outbox rows. Files are not stored in the outbox."""
    return {
        "text": message.text,
        "buttons": [_button_to_dict(b) for b in message.buttons],
        "multi_select": message.multi_select,
        "controls": [_button_to_dict(b) for b in message.controls],
        "input_hint": message.input_hint,
        "replace_previous": message.replace_previous,
        "markdown": message.markdown,
        "kind": message.kind,
        "meta": dict(message.meta),
    }


def outbound_from_dict(data: dict) -> Outbound:
    return Outbound(
        text=str(data.get("text", "")),
        buttons=tuple(Button(**b) for b in data.get("buttons", ())),
        multi_select=bool(data.get("multi_select", False)),
        controls=tuple(Button(**b) for b in data.get("controls", ())),
        input_hint=data.get("input_hint", "none"),
        replace_previous=bool(data.get("replace_previous", False)),
        markdown=bool(data.get("markdown", False)),
        kind=data.get("kind", "info"),
        meta=dict(data.get("meta", {})),
    )


def _button_to_dict(button: Button) -> dict:
    return {
        "label": button.label,
        "payload": button.payload,
        "selected": button.selected,
        "style": button.style,
    }
