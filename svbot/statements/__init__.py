"""The draft evidence statement: compose it from the walk-through's answers, render it.

    from svbot.statements import StatementInput, compose, render, chat_chunks
    statement = compose(answers, default_knowledge())
    markdown = render(statement, "md"); word_file = render(statement, "docx")
"""

from svbot.statements.compose import StatementError, compose
from svbot.statements.model import (
    Claim,
    Commitment,
    Gap,
    NumberRow,
    Numbers,
    ObjectiveEvidence,
    ObjectiveSection,
    OwnValue,
    Statement,
    StatementInput,
    Strength,
)
from svbot.statements.render import FORMATS, MEDIA_TYPES, Format, body_text, chat_chunks, render

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "Claim",
    "Commitment",
    "Format",
    "Gap",
    "NumberRow",
    "Numbers",
    "ObjectiveEvidence",
    "ObjectiveSection",
    "OwnValue",
    "Statement",
    "StatementError",
    "StatementInput",
    "Strength",
    "body_text",
    "chat_chunks",
    "compose",
    "render",
]
