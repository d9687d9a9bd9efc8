"""Keeping personal data no longer than needed: what `svbot clock` forgets once it is old enough.

Defaults (each a setting, see svbot/config.py and docs/privacy.md):
- outbox rows that were sent, failed or cancelled (each holds the message text and the chat it went to):
  after 90 days (`SVBOT_RETENTION_SENT_DAYS`); rows still waiting are never touched;
- a Telegram button's key (its payload and, in a group, whose question it was, with their first name):
  90 days after the last message it was sent on, as the outbox rows (`SVBOT_RETENTION_SENT_DAYS`); a
  button pressed after that is answered as an old button;
- join-attempt counters (person, chat or organisation id and a count): after 2 days;
- inbound event keys (platform and event id, kept to answer a repeated delivery once): after 7 days
  (`SVBOT_RETENTION_EVENTS_DAYS`);
- a conversation nobody has written in for 18 months (`SVBOT_RETENTION_ABANDONED_MONTHS`) loses its
  free text: the long-text answers in its state, what it was about to confirm, and the answers of
  its evidence bank that belong to no organisation. The organisation's answers, statements and
  reports stay: they are needed year on year.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from svbot.config import Settings
from svbot.delivery.models import CANCELLED, FAILED, SENT, OutboxMessage
from svbot.models import Answer, ButtonPayload, Conversation
from svbot.support import attempts
from svbot.support.models import AttemptCount
from svbot.turns import forget_events_before

log = logging.getLogger(__name__)

BATCH = 500
# How often the clock applies retention: its work is measured in days, not minutes.
EVERY = timedelta(hours=1)


@dataclass
class Forgotten:
    outbox: int = 0
    events: int = 0
    conversations: int = 0
    buttons: int = 0

    def __bool__(self) -> bool:
        return bool(self.outbox or self.events or self.conversations or self.buttons)


async def apply_retention(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, settings: Settings, free_text: frozenset[str]
) -> Forgotten:
    """One retention pass as if it were `now`. `free_text`: the long-text step ids
    (`svbot.privacy.erase.free_text_steps`). Safe to run from several processes at once."""
    forgotten = Forgotten()
    async with sessionmaker() as session, session.begin():
        sent_before = now - timedelta(days=settings.retention_sent_days)
        result = await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status.in_((SENT, FAILED, CANCELLED)),
                or_(
                    OutboxMessage.sent_at < sent_before,
                    (OutboxMessage.sent_at.is_(None)) & (OutboxMessage.created_at < sent_before),
                ),
            )  # fmt: skip
        )
        forgotten.outbox = result.rowcount or 0
        buttons = await session.execute(delete(ButtonPayload).where(ButtonPayload.created_at < sent_before))
        forgotten.buttons = buttons.rowcount or 0
        forgotten.events = await forget_events_before(session, now - timedelta(days=settings.retention_events_days))
        # Join-attempt counters (a subject and a count, no text) are only needed for the last hour.
        await session.execute(delete(AttemptCount).where(AttemptCount.window_start < now - attempts.KEEP))
    cutoff = now - relativedelta(months=settings.retention_abandoned_months)
    last_id = 0
    while True:
        async with sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(Conversation.id, Conversation.state)
                    .where(Conversation.updated_at < cutoff, Conversation.id > last_id)
                    .order_by(Conversation.id)
                    .limit(BATCH)
                )
            ).all()
            for conversation_id, state in rows:
                cleaned = without_free_text(state or {}, free_text)
                deleted = await session.execute(
                    delete(Answer).where(Answer.conversation_id == conversation_id, Answer.organisation_id.is_(None),
                                         Answer.key.in_(await _free_keys(session, conversation_id, free_text)))
                )  # fmt: skip
                if cleaned != (state or {}) or deleted.rowcount:
                    # updated_at stays: the conversation is no less abandoned for being tidied.
                    await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(
                        state=cleaned))  # fmt: skip
                    forgotten.conversations += 1
        if len(rows) < BATCH:
            break
        last_id = rows[-1][0]
    if forgotten:
        log.info("retention: forgot %s outbox rows, %s event keys, %s button keys, free text of %s conversations",
                 forgotten.outbox, forgotten.events, forgotten.buttons, forgotten.conversations)  # fmt: skip
    return forgotten


def without_free_text(state: dict[str, Any], free_text: frozenset[str]) -> dict[str, Any]:
    """A conversation state with its free text gone (long-text answers, offers of them, what was
    about to be confirmed); its place in the walk-through and its other answers kept."""
    cleaned = dict(state)
    for field in ("answers", "suggestions"):
        values = cleaned.get(field)
        if isinstance(values, dict):
            cleaned[field] = {k: v for k, v in values.items() if not _is_free(k, free_text)}
    if isinstance(cleaned.get("pending"), str):
        cleaned["pending"] = None
    if cleaned.get("confirm_text"):
        cleaned["confirm_text"] = None
    return cleaned


def _is_free(key: str, free_text: frozenset[str]) -> bool:
    return key.rsplit(".", 1)[-1] in free_text


async def _free_keys(session: AsyncSession, conversation_id: int, free_text: frozenset[str]) -> list[str]:
    keys = await session.scalars(
        select(Answer.key).where(Answer.conversation_id == conversation_id, Answer.organisation_id.is_(None))
    )
    return [key for key in keys if _is_free(key, free_text)] or ["-"]
