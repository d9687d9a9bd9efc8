"""The words that work at every question, and how typed text is simplified before it is matched.

The engine and the turn handler (`svbot.turns`) match words the same way, through `simplify`.

These are the words people type, input rather than anything svbot says, so they stay here in
English and are not in svbot/texts (a Welsh svbot would add its own words beside them). The buttons
that stand for them, and every sentence that mentions them, are in svbot/texts.
"""

from __future__ import annotations

import re
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
ALL_CORRECT = {"ok", "okay", "yes", "y", "yep", "yeah", "done", "confirm", "looks right", "all correct", "correct",
               "finish", "looks good", "that's right", "thats right", "good", "all good", "all fine", "fine",
               "perfect", "great", "yes all correct", "yes that's right", "it's all correct", "all right",
               "all ok", "all okay", "yes please"}  # fmt: skip
# At the review, a number picks an answer to change: "3", "change 3", "change answer 3", "no. 3", "#3".
CHANGE_NUMBER = re.compile(r"(?:(?:change|edit|fix)\s*)?(?:(?:answer|number|no\.?|#)\s*)?(\d{1,6})")
# A number on its own, as typed to pick from a list: at a written answer, asked about before it is kept.
STRAY_NUMBER = re.compile(r"#?\d{1,6}")
CHANGE_ONE = {"change", "edit", "change an answer", "no"}  # at the review: "which one?"
CARRY_ON = {"carry on", "continue", "yes", "ok", "resume", "go on", "y"}  # after "welcome back"
START_AGAIN = {"new"}  # after "welcome back" ("start again" is the command word: it asks first)

# At a yes/no check ("still right?", "just to check"): more ways of saying yes, keep it as it is.
KEEP_IT = {"yes please", "yes thanks", "yes thank you", "yes it is", "it is", "still right", "yes still right",
           "that's still right", "thats still right", "still correct", "yes still correct", "keep it", "keep",
           "yes keep it", "same", "same as before", "the same", "no change", "unchanged"}  # fmt: skip
# ... and yes with a word of thanks: "yes thanks", "ok, that's fine", "yep still right".
YES_AND = re.compile(r"(?:yes|yeah|yep|yup|ok|okay|sure|correct|right|y|fine|great|perfect|cool|good)\b[\s,.;:!-]*"
                     r"(?P<rest>.*)", re.IGNORECASE | re.DOTALL)  # fmt: skip
POLITE = {"thanks", "thank you", "please", "ta", "cheers", "that's right", "thats right", "still right", "it is",
          "that's fine", "thats fine", "fine", "great", "correct", "keep it", "all good", "good", "it's right",
          "its right", "still correct", "that's correct", "thats correct", "that's still right", "it's still right",
          "thanks a lot", "many thanks", "thank you very much", "lovely", "perfect", "right"}  # fmt: skip
# ... and "no" followed by the answer that should be there instead: "no, 45", "no 45", "nope, it's Supper
# Club now". A name that happens to begin with "No" ("No Limits Theatre") has no comma or "it's" after it.
_NO = r"(?:no|nope|nah|not really|wrong|incorrect)"
_INSTEAD = r"(?:it's|its|it is|it was|it should be|should be|now|actually|instead|make it|change it to)\b"
NO_THEN_ANSWER = re.compile(
    rf"{_NO}(?:\s*[,.;:!-]+\s*|\s+(?=\d)|\s+(?={_INSTEAD}))(?:{_INSTEAD}[\s,.;:!-]*)*(?P<answer>.+)",
    re.IGNORECASE | re.DOTALL,
)
# ... and "no" followed by nothing that is an answer: "no thanks", "no, it isn't".
NO_AND = re.compile(rf"{_NO}\b[\s,.;:!-]*(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
JUST_NO = {"thanks", "thank you", "ta", "sorry", "not any more", "not anymore", "it isn't", "it's not", "its not",
           "isn't", "not", "that's wrong", "wrong", "not right", "it changed", "changed"}  # fmt: skip
