"""The social value feature: from walk-through answers to a stored, shareable draft statement.

It plugs into the Bot: when the `social_value` dialogue is finished it makes sure the
organisation exists, stores the statement's input (so it can be re-rendered in any format, and
reused next year) and sends the draft in chat, in pieces that fit the platform, with a .docx.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import JSON, Boolean, ForeignKey, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from svbot.dialogue.spec import slug
from svbot.dialogue.state import ANY_ITEM
from svbot.messages import FileOut
from svbot.models import Answer, Base, Membership, Organisation, utcnow
from svbot.statements.compose import StatementError, compose
from svbot.statements.model import Commitment, Numbers, ObjectiveEvidence, OwnValue, Statement, StatementInput
from svbot.statements.render import MEDIA_TYPES, chat_chunks, render
from svbot.statements.text import mentions_date
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
                menu=text("evidence.statement.menu"), private=True)  # fmt: skip
    async def show(turn: Turn) -> None:
        record = await latest_statement(turn.session, turn.conversation.organisation_id)
        if record is None:
            turn.say(text("evidence.statement.none"))
            return
        send_statement(turn, record, intro=text("evidence.statement.latest"))

    @bot.intent("word_limit", "limit", "word limit", "/limit", takes_args=True,
                menu=text("evidence.limit.menu"), private=True)  # fmt: skip
    async def fit(turn: Turn) -> None:
        await _fit_to_limit(turn)

    @bot.intent("reword", "reword", "/reword", takes_args=True, menu=text("evidence.reword.menu"), private=True)
    async def reword(turn: Turn) -> None:
        await _reword(turn)

    bot.on_complete[REWORD] = _reworded

    @bot.intent("new_statement", "new statement", "another statement", "statement for another bid",
                "newstatement", "/newstatement", menu=text("evidence.another.menu"), private=True)  # fmt: skip
    async def another(turn: Turn) -> None:
        await _another_statement(turn)


_LIMIT = re.compile(r"^\s*(\d[\d,]*)\s*(words?)?\s*$", re.IGNORECASE)
_NO_LIMIT = {"none", "no limit", "off", "no"}
MIN_LIMIT, MAX_LIMIT = 50, 20000


async def _fit_to_limit(turn: Turn) -> None:
    """ "limit 500": the latest statement again, fitted to a word limit, kept as a statement of its
    own (one per bid). Words that are not a limit are an answer, when a walk-through is under way."""
    said = turn.args.strip()
    match = _LIMIT.match(said)
    if not match and said.lower() not in _NO_LIMIT:
        if turn.state.under_way:
            await turn.bot.converse(turn)
            return
        turn.say(text("evidence.limit.how"))
        return
    limit = int(match.group(1).replace(",", "")) if match else None
    if limit is not None and not MIN_LIMIT <= limit <= MAX_LIMIT:
        turn.say(text("evidence.limit.out_of_range", least=MIN_LIMIT, most=MAX_LIMIT), kind="error")
        return
    record = await latest_statement(turn.session, turn.conversation.organisation_id)
    if record is None:
        turn.say(text("evidence.statement.none"))
        return
    data = StatementInput.model_validate(record.data).model_copy(update={"word_limit": limit})
    fitted = StatementRecord(
        organisation_id=record.organisation_id,
        conversation_id=turn.conversation.id,
        framework_id=record.framework_id,
        period=record.period,
        data=data.model_dump(mode="json"),
        shared=record.shared,
    )
    turn.session.add(fitted)
    await turn.session.flush()
    intro = text("evidence.limit.done", limit=limit) if limit else text("evidence.limit.removed")
    send_statement(turn, fitted, intro=intro)


REWORD = "reword"


async def _reword(turn: Turn) -> None:
    """ "reword 2": show paragraph 2 of the latest statement and take the group's own wording for it."""
    said = turn.args.strip().lower()
    number = 0 if said in ("opening", "the opening", "0") else int(said) if said.isdigit() else None
    if turn.state.under_way:
        if number is None:  # "reword our aims ..." at the start of an answer is the answer
            await turn.bot.converse(turn)
        else:
            turn.say(text("evidence.another.finish_first"))
        return
    record = await latest_statement(turn.session, turn.conversation.organisation_id)
    if record is None:
        turn.say(text("evidence.statement.none"))
        return
    paragraphs = build_statement(record, turn.bot.knowledge).paragraphs()
    if number is None or number >= len(paragraphs):
        lines = [text("evidence.reword.which")]
        lines += [text("evidence.reword.choice", number=i, heading=heading or text("evidence.reword.opening"))
                  for i, (_key, heading, _text) in enumerate(paragraphs)]  # fmt: skip
        turn.say("\n".join(lines))
        return
    key, heading, current = paragraphs[number]
    intro = text("evidence.reword.now", heading=heading or text("evidence.reword.opening"), current=current)
    turn.start_dialogue(REWORD, intro=intro, answers={"paragraph": key, "statement_id": record.id})


async def _reworded(turn: Turn) -> None:
    """The new wording is in: a new copy of the statement with it, sent as the latest."""
    answers = turn.state.answers
    record = await latest_statement(turn.session, turn.conversation.organisation_id)
    if record is None or record.id != answers.get("statement_id"):
        turn.say(text("evidence.reword.moved_on"), kind="error")
        return
    data = StatementInput.model_validate(record.data)
    data.reworded = {**data.reworded, str(answers.get("paragraph")): str(answers.get("text") or "")}
    copy = StatementRecord(organisation_id=record.organisation_id, conversation_id=turn.conversation.id,
                           framework_id=record.framework_id, period=record.period,
                           data=data.model_dump(mode="json"), shared=record.shared)  # fmt: skip
    turn.session.add(copy)
    await turn.session.flush()
    send_statement(turn, copy, intro=text("evidence.reword.done"))


# A statement for another bid keeps what is known about the group, and asks again only for the
# framework, its objectives and what those objectives need.
_ASKED_AGAIN = ("framework", "objectives", "word_limit")


async def _another_statement(turn: Turn) -> None:
    if turn.state.under_way:
        turn.say(text("evidence.another.finish_first"))
        return
    bank = await turn.bot.evidence_bank(turn, DIALOGUE)
    known = {key: entry["value"] for key, entry in bank.items()
             if not key.startswith(ANY_ITEM) and key not in _ASKED_AGAIN}  # fmt: skip
    if not known:
        turn.say(text("evidence.another.nothing_yet"))
        return
    # What they skipped last time (in this chat) stays skipped: "I don't know" is an answer too.
    state = turn.state
    skipped = [key for key in state.skipped if key not in _ASKED_AGAIN] if state.dialogue == DIALOGUE else []
    turn.start_dialogue(DIALOGUE, intro=text("evidence.another.intro"), answers=known, skipped=skipped,
                        only_missing=True)  # fmt: skip


def _context(turn: Turn, context: dict[str, Any]) -> None:
    context.setdefault("support_framework", None)
    context.setdefault("organisation_name", None)
    # The walk-through asks "By when?" only when a commitment gives no date of its own.
    context["mentions_date"] = mentions_date


# ---- answers -> statement ---------------------------------------------------------------------------


_FIGURES = ("people_reached", "volunteers", "volunteer_hours", "local_spend", "partners")
QUALIFIER = "~qualifier"  # the sibling key of a number's "about" / "over" (svbot/dialogue/answers.py)


def statement_input(
    answers: dict[str, Any], framework_id: str, period: str | None = None, today: date | None = None
) -> StatementInput:
    """Map the walk-through's flat answers onto the statement's input. Numbers pass through as given.

    Reads both shapes: facts about the whole group under `facts.` (asked once), and, from answers
    given before that, who benefits and the figures under each objective."""

    def get(key: str) -> Any:
        return answers.get(key)

    asked_once = any(key.startswith("facts.") for key in answers)
    objectives = []
    for objective_id in get("objectives") or []:
        p = f"per_objective.{slug(objective_id)}."
        objectives.append(
            ObjectiveEvidence(
                objective_id=objective_id,
                activity=get(p + "activity"),
                over_and_above=get(p + "over_and_above"),
                beneficiaries=[] if asked_once else list(get(p + "beneficiaries") or []),
                equality_groups=[] if asked_once else list(get(p + "equality") or []),
                # Figures were asked per objective before they were asked once for the group (and
                # are kept there by migration 0008): read them only from answers of that shape.
                numbers=_numbers(answers, p, sessions=True) if not asked_once else Numbers(),
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
    figures_from, figures_to = figures_period(answers, today or date.today())
    return StatementInput(
        org_name=get("org.name") or text("evidence.our_organisation"),
        org_what=get("org.what"),
        org_where=get("org.where"),
        size_band=_size_label(get("org.size")),
        framework_id=framework_id,
        period=period,
        who_benefits=list(get("facts.who_benefits") or []),
        equality_groups=list(get("facts.equality") or []),
        numbers=_numbers(answers, "facts."),
        figures_from=figures_from,
        figures_to=figures_to,
        objectives=objectives,
        word_limit=get("word_limit"),
    )


def _numbers(answers: dict[str, Any], prefix: str, sessions: bool = False) -> Numbers:
    fields = (*_FIGURES, "sessions") if sessions else _FIGURES
    values = {name: answers.get(prefix + name) for name in fields}
    qualifiers = {
        name: answers[prefix + name + QUALIFIER]
        for name in fields
        if values[name] is not None and answers.get(prefix + name + QUALIFIER)
    }
    return Numbers(
        **values,
        own_value=_own_value(answers.get(prefix + "own_value"), answers.get(prefix + "own_value_source")),
        qualifiers=qualifiers,
    )


def figures_period(answers: dict[str, Any], today: date) -> tuple[date | None, date | None]:
    """The dates the organisation's figures cover, from the walk-through's period question."""
    chosen = answers.get("facts.period")
    if chosen == "last_12_months":
        return today - relativedelta(years=1) + timedelta(days=1), today
    if chosen == "last_financial_year":
        end_year = today.year if today.month >= 4 else today.year - 1
        return date(end_year - 1, 4, 1), date(end_year, 3, 31)
    start, end = _as_date(answers.get("facts.period_start")), _as_date(answers.get("facts.period_end"))
    if chosen == "other" and start and end:
        return (start, end) if start <= end else (end, start)
    return None, None


def _as_date(value: Any) -> date | None:
    """A date answer: a date in a live turn, its ISO text once stored as JSON."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _own_value(amount: float | None, source: str | None) -> OwnValue | None:
    """A value the organisation worked out itself; it is only shown with its source."""
    if amount is None or not source:
        return None
    return OwnValue(amount=amount, description=text("evidence.own_value"), source=source)


_SIZES = frozenset({"under_10k", "10k_100k", "100k_1m", "over_1m"})  # the walk-through's org.size options


def _size_label(value: str | None) -> str | None:
    return text(f"evidence.size.{value}") if value in _SIZES else value


def current_period(now: datetime | date) -> str:
    """The UK financial year, as charities and councils count it: April to March, e.g. "2026-27"."""
    start = now.year if now.month >= 4 else now.year - 1
    return f"{start}-{str(start + 1)[-2:]}"


def statement_year(data: StatementInput, now: datetime) -> str:
    """The financial year a statement reports on, for the annual report to select it by: the year its
    figures end in, or, without figures' dates, the year it was made in."""
    return current_period(data.figures_to or now)


# ---- when the walk-through is finished -----------------------------------------------------------


async def _finished(turn: Turn) -> None:
    answers = turn.state.answers
    context = turn.context()
    framework_id = context.get("support_framework") or answers.get("framework")
    organisation = await ensure_organisation(turn, answers.get("org.name") or text("evidence.my_organisation"))
    # Someone who joined with a code was not asked the name: the statement is still in it.
    answers = {**answers, "org.name": answers.get("org.name") or organisation.name}
    try:
        record = await store_statement(turn.session, turn.bot.knowledge, organisation.id, answers, framework_id,
                                       turn.now, conversation_id=turn.conversation.id)  # fmt: skip
    except (StatementError, ValueError) as exc:
        log.warning("statement could not be composed: %s", exc)
        turn.say(text("evidence.statement.failed"), kind="error")
        return
    send_statement(turn, record, intro=text("evidence.statement.ready"))
    turn.say(text("evidence.statement.again"))


async def store_statement(
    session: AsyncSession,
    knowledge: Any,
    organisation_id: int,
    answers: dict[str, Any],
    framework_id: str,
    now: datetime,
    *,
    conversation_id: int | None = None,
) -> StatementRecord:
    """A finished walk-through's answers stored as the organisation's newest statement (the chat and
    `svbot demo` both store them here). Raises StatementError or ValueError when they do not compose."""
    data = statement_input(answers, framework_id, None, now.date())
    data.period = statement_year(data, now)
    compose(data, knowledge)  # check it composes before we store it
    record = StatementRecord(
        organisation_id=organisation_id,
        conversation_id=conversation_id,
        framework_id=framework_id,
        period=data.period,
        data=data.model_dump(mode="json"),
    )
    session.add(record)
    await session.flush()
    return record


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


def send_statement(turn: Turn, record: StatementRecord, intro: str) -> None:
    """The statement in chat, in pieces that fit the platform, after `intro`, then as a Word file."""
    statement = build_statement(record, turn.bot.knowledge)
    turn.say(intro, private=True)  # in a group, all of it goes to the person's private chat
    limit = turn.bot.message_size(turn.inbound.platform)
    for chunk in chat_chunks(statement, limit):
        turn.say(chunk, markdown=True, private=True)
    docx = render(statement, "docx")
    assert isinstance(docx, bytes)
    turn.say(
        text("evidence.statement.as_word"),
        private=True,
        file=FileOut(
            filename=f"{_file_stem(statement.org_name)}-social-value.docx",
            content=docx,
            mime_type=MEDIA_TYPES["docx"],
            title=text("evidence.statement.file_title"),
        ),
    )


def _file_stem(name: str) -> str:
    """A file name from the organisation's name, keeping letters such as ŵ and ŷ."""
    from svbot.documents import file_name

    return file_name(name, "", default="statement")


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
