"""The social value feature: from walk-through answers to a stored, shareable draft statement.

It plugs into the Bot: when the `social_value` dialogue is finished it makes sure the
organisation exists, stores the statement's input (so it can be re-rendered in any format, and
reused next year) and sends the draft in chat, in pieces that fit the platform, with a .docx.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from svbot.dialogue.spec import slug
from svbot.messages import FileOut
from svbot.models import Answer, Base, Membership, Organisation, utcnow
from svbot.statements.compose import StatementError, compose
from svbot.statements.model import Commitment, Numbers, ObjectiveEvidence, OwnValue, Statement, StatementInput
from svbot.statements.render import MEDIA_TYPES, chat_chunks, render
from svbot.text import text
from svbot.turns import Bot, Turn

log = logging.getLogger(__name__)

DIALOGUE = "social_value"
# Room for the platform's own wrapping inside its limits (Slack 3,000 a block, Telegram 4,096).


class StatementRecord(Base):
    """One finished walk-through. The input is kept, not the rendering, so any format can be made."""

    __tablename__ = "statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    framework_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The organisation agreed its support organisation may quote it in the annual report.
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def install(bot: Bot) -> None:
    bot.on_complete[DIALOGUE] = _finished
    bot.context_providers.append(_context)

    @bot.intent("statement", "statement", "my statement", "draft", "show statement", "/statement",
                menu=text("evidence.statement.menu"))  # fmt: skip
    async def show(turn: Turn) -> None:
        record = await latest_statement(turn.session, turn.conversation.organisation_id)
        if record is None:
            turn.say(text("evidence.statement.none"))
            return
        _send_statement(turn, record, intro=text("evidence.statement.latest"))


def _context(turn: Turn, context: dict[str, Any]) -> None:
    context.setdefault("support_framework", None)
    context.setdefault("organisation_name", None)


# ---- answers -> statement ---------------------------------------------------------------------------


def statement_input(answers: dict[str, Any], framework_id: str, period: str | None = None) -> StatementInput:
    """Map the walk-through's flat answers onto the statement's input. Numbers pass through as given."""

    def get(key: str) -> Any:
        return answers.get(key)

    objectives = []
    for objective_id in get("objectives") or []:
        p = f"per_objective.{slug(objective_id)}."
        objectives.append(
            ObjectiveEvidence(
                objective_id=objective_id,
                activity=get(p + "activity"),
                beneficiaries=list(get(p + "beneficiaries") or []),
                equality_groups=list(get(p + "equality") or []),
                numbers=Numbers(
                    people_reached=get(p + "people_reached"),
                    sessions=get(p + "sessions"),
                    volunteers=get(p + "volunteers"),
                    volunteer_hours=get(p + "volunteer_hours"),
                    local_spend=get(p + "local_spend"),
                    partners=get(p + "partners"),
                    own_value=_own_value(get(p + "own_value"), get(p + "own_value_source")),
                ),
                change=get(p + "change"),
                evidence_kinds=list(get(p + "evidence_kinds") or []),
                evidence_detail=get(p + "evidence_detail"),
                story=get(p + "story"),
                commitment=Commitment(
                    text=get(p + "commitment"),
                    measure=get(p + "commitment_measure"),
                    due=get(p + "commitment_date"),
                ),
            )
        )
    return StatementInput(
        org_name=get("org.name") or text("evidence.our_organisation"),
        org_what=get("org.what"),
        org_where=get("org.where"),
        size_band=_size_label(get("org.size")),
        framework_id=framework_id,
        period=period,
        objectives=objectives,
        word_limit=get("word_limit"),
    )


def _own_value(amount: float | None, source: str | None) -> OwnValue | None:
    """A value the organisation worked out itself; it is only shown with its source."""
    if amount is None or not source:
        return None
    return OwnValue(amount=amount, description=text("evidence.own_value"), source=source)


_SIZES = frozenset({"under_10k", "10k_100k", "100k_1m", "over_1m"})  # the walk-through's org.size options


def _size_label(value: str | None) -> str | None:
    return text(f"evidence.size.{value}") if value in _SIZES else value


def current_period(now: datetime) -> str:
    """The UK financial year, as charities and councils count it: April to March, e.g. "2026-27"."""
    start = now.year if now.month >= 4 else now.year - 1
    return f"{start}-{str(start + 1)[-2:]}"


# ---- when the walk-through is finished -----------------------------------------------------------


async def _finished(turn: Turn) -> None:
    answers = turn.state.answers
    context = turn.context()
    framework_id = context.get("support_framework") or answers.get("framework")
    organisation = await ensure_organisation(turn, answers.get("org.name") or text("evidence.my_organisation"))
    # Someone who joined with a code was not asked the name: the statement is still in it.
    answers = {**answers, "org.name": answers.get("org.name") or organisation.name}
    try:
        data = statement_input(answers, framework_id, current_period(turn.now))
        compose(data, turn.bot.knowledge)  # check it composes before we store it
    except (StatementError, ValueError) as exc:
        log.warning("statement could not be composed: %s", exc)
        turn.say(text("evidence.statement.failed"), kind="error")
        return
    record = StatementRecord(
        organisation_id=organisation.id,
        conversation_id=turn.conversation.id,
        framework_id=framework_id,
        period=data.period,
        data=data.model_dump(mode="json"),
    )
    turn.session.add(record)
    await turn.session.flush()
    _send_statement(turn, record, intro=text("evidence.statement.ready"))
    turn.say(text("evidence.statement.again"))


async def ensure_organisation(turn: Turn, name: str) -> Organisation:
    """The conversation's organisation, created the first time, with this person as its admin."""
    session, conversation = turn.session, turn.conversation
    if conversation.organisation_id is not None:
        organisation = await session.get(Organisation, conversation.organisation_id)
        if organisation is not None:
            return organisation
    organisation = Organisation(name=name[:300], kind="member")
    session.add(organisation)
    await session.flush()
    session.add(Membership(person_id=turn.identity.person_id, organisation_id=organisation.id, role="org_admin"))
    conversation.organisation_id = organisation.id
    # The evidence bank now belongs to the organisation, so colleagues' walk-throughs can reuse it.
    await session.execute(
        update(Answer)
        .where(Answer.conversation_id == conversation.id, Answer.organisation_id.is_(None))
        .values(organisation_id=organisation.id)
    )
    return organisation


def build_statement(record: StatementRecord, knowledge: Any) -> Statement:
    return compose(StatementInput.model_validate(record.data), knowledge)


def _send_statement(turn: Turn, record: StatementRecord, intro: str) -> None:
    statement = build_statement(record, turn.bot.knowledge)
    turn.say(intro)
    limit = turn.bot.message_size(turn.inbound.platform)
    for chunk in chat_chunks(statement, limit):
        turn.say(chunk, markdown=True)
    docx = render(statement, "docx")
    assert isinstance(docx, bytes)
    turn.say(
        text("evidence.statement.as_word"),
        file=FileOut(
            filename=f"{_file_stem(statement.org_name)}-social-value.docx",
            content=docx,
            mime_type=MEDIA_TYPES["docx"],
            title=text("evidence.statement.file_title"),
        ),
    )


def _file_stem(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "statement"


async def latest_statement(session: AsyncSession, organisation_id: int | None) -> StatementRecord | None:
    if organisation_id is None:
        return None
    return await session.scalar(
        select(StatementRecord)
        .where(StatementRecord.organisation_id == organisation_id)
        .order_by(StatementRecord.created_at.desc(), StatementRecord.id.desc())
        .limit(1)
    )


def export(record: StatementRecord, knowledge: Any, fmt: str) -> str | bytes:
    return render(build_statement(record, knowledge), fmt)  # type: ignore[arg-type]
