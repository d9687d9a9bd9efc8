"""The words that work at every question, and how typed text is simplified before it is matched.

The engine and the turn handler (`svbot.turns`) match words the same way, through `simplify`.

These are the words people type, input rather than anything svbot says, so they stay here in
English and are not in svbot/texts (a Welsh svbot would add its own words beside them). The buttons
that stand for them, and every sentence that mentions them, are in svbot/texts.
"""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    """What a command word (or its button) asks for, wherever the person is."""

    BACK = "back"
    SKIP = "skip"
    HELP = "help"
    CANCEL = "cancel"
    RESTART = "restart"
    STATUS = "status"
    UNKNOWN = "unknown"  # "I don't know": a skip that says why


def simplify(text: str) -> str:
    """Text ready to match against words: casefolded, curly apostrophes straight, spaces single,
    trailing "?", "!" and "." dropped ("Go  back!" -> "go back"). A lone "?" stays: it asks for help."""
    said = " ".join(text.casefold().replace("’", "'").split())
    return said if said == "?" else said.rstrip("?!. ")


COMMAND_WORDS: dict[str, Command] = {
    "back": Command.BACK, "go back": Command.BACK, "previous": Command.BACK, "undo": Command.BACK,
    "skip": Command.SKIP, "pass": Command.SKIP, "skip this": Command.SKIP, "next": Command.SKIP,
    "help": Command.HELP, "?": Command.HELP, "explain": Command.HELP, "what does this mean": Command.HELP,
    "what do you mean": Command.HELP,
    "cancel": Command.CANCEL, "stop": Command.CANCEL, "quit": Command.CANCEL, "exit": Command.CANCEL,
    "pause": Command.CANCEL,
    "restart": Command.RESTART, "start again": Command.RESTART, "start over": Command.RESTART,
    "begin again": Command.RESTART,
    "status": Command.STATUS, "where am i": Command.STATUS, "progress": Command.STATUS,
    "i don't know": Command.UNKNOWN, "i dont know": Command.UNKNOWN, "don't know": Command.UNKNOWN,
    "dont know": Command.UNKNOWN, "not sure": Command.UNKNOWN, "i'm not sure": Command.UNKNOWN,
    "im not sure": Command.UNKNOWN, "unknown": Command.UNKNOWN, "idk": Command.UNKNOWN, "no idea": Command.UNKNOWN,
    "dunno": Command.UNKNOWN,
}  # fmt: skip

# Words with a meaning at one place only.
ALL_CORRECT = {"ok", "okay", "yes", "y", "done", "confirm", "looks right", "all correct", "correct", "finish",
               "looks good", "that's right", "thats right", "good"}  # fmt: skip
CHANGE_ONE = {"change", "edit", "change an answer", "no"}  # at the review: "which one?"
CARRY_ON = {"carry on", "continue", "yes", "ok", "resume", "go on", "y"}  # after "welcome back"
START_AGAIN = {"new"}  # after "welcome back" ("start again" is the command word: it asks first)
