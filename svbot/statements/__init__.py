"""The draft evidence statement: compose it from the walk-through's answers, render it.

    from svbot.statements import StatementInput, compose, render, chat_chunks
    statement = compose(answers, default_knowledge())
    markdown = render(statement, "md"); word_file = render(statement, "docx")
"""

from svbot.statements.compose import StatementError, compose, submit_text
from svbot.statements.model import (
    Commitment,
    Figure,
    Gap,
    Numbers,
    ObjectiveEvidence,
    ObjectiveSection,
    OwnValue,
    Part,
    Statement,
    StatementInput,
    Strength,
)
from svbot.statements.render import FORMATS, MEDIA_TYPES, Format, body_text, chat_chunks, render

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "Commitment",
    "Figure",
    "Format",
    "Gap",
    "Numbers",
    "ObjectiveEvidence",
    "ObjectiveSection",
    "OwnValue",
    "Part",
    "Statement",
    "StatementError",
    "StatementInput",
    "Strength",
    "body_text",
    "chat_chunks",
    "compose",
    "render",
    "submit_text",
]
