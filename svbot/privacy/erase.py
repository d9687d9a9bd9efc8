"""Erasure (UK GDPR right to erasure): a person's personal data, or an organisation and everything of it.

A person's personal data goes: their name, chat identities, memberships, the state of their
conversations (every message they typed lives there), the answers that belonged to no organisation,
the messages queued or sent to them, their snoozes and dashboard sessions. What belongs to an
organisation stays (the answers given for it, its statements and reports: issue 20, "whose data is
what"), with the link to the person cut: a conversation that still carries the organisation's
answers is kept as an empty, anonymous row (its key and state gone), and so is its chat identity (no
platform id, no name, no chat); everything else is deleted. With `blank_texts`, the free texts they
wrote (every long-text answer: stories, activities, the difference made) are blanked as well, in the
evidence bank and in the statements made from their conversations.

A submitted report keeps its status and date; only who marked it goes. The log entry holds ids and
counts, never what was erased.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.dashboard.models import AuditEntry, DashboardLink, DashboardSession
from svbot.deadlines.models import (
    SUBMITTED,
    Deadline,
    Grant,
    GrantOutcome,
    MonitoringSchedule,
    Programme,
    ReminderPolicy,
    Snooze,
)
from svbot.delivery.models import OutboxMessage
from svbot.dialogue.spec import Dialogue, Step
from svbot.evidence import StatementRecord
from svbot.models import Answer, ButtonPayload, Conversation, Identity, Membership, Organisation, Person
from svbot.monitoring import MonitoringReport
from svbot.privacy.erased import external_id_hash
from svbot.privacy.models import ERASE, ORGANISATION, PERSON, REMOVE, ErasedOrganisation, NoticeShown, PrivacyContact
from svbot.privacy.requests import log_request
from svbot.support.models import AttemptCount, Broadcast, Invite

ERASED_PLATFORM = "erased"


@dataclass
class Erased:
    """What an erasure removed, counted (this goes in the log)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, count: int | None) -> None:
        if count:
            self.counts[name] = self.counts.get(name, 0) + count


def free_text_steps(dialogues: dict[str, Dialogue]) -> frozenset[str]:
    """The ids of every long-text question in the walk-throughs: the answers that are free text."""
    ids: set[str] = set()

    def walk(steps: Iterable[Step]) -> None:
        for step in steps:
            if step.type == "long_text":
                ids.add(step.id)
            if step.steps:
                walk(step.steps)

    for dialogue in dialogues.values():
        walk(dialogue.steps)
    return frozenset(ids)


async def erase_person(
    session: AsyncSession,
    person_id: int,
    *,
    now: datetime,
    requested_by: str,
    blank_texts: bool = False,
    free_text: frozenset[str] = frozenset(),
) -> Erased | None:
    """Erase the person's personal data (see the module's docstring); None if there is no such person.
    The caller commits. `free_text`: the answer keys' last parts that are free text (`free_text_steps`)."""
    person = await session.get(Person, person_id)
    if person is None:
        return None
    erased = Erased()
    identity_ids = list(await session.scalars(select(Identity.id).where(Identity.person_id == person_id)))
    conversation_ids = list(
        await session.scalars(select(Conversation.id).where(Conversation.identity_id.in_(identity_ids or [-1])))
    )
    ids, cids = identity_ids or [-1], conversation_ids or [-1]

    if blank_texts:
        erased.add("free_texts_blanked", await _blank_texts(session, cids, free_text))
    # Answers that belong to no organisation are the person's alone; the organisation's stay.
    erased.add("answers", await _run(session, delete(Answer).where(
        Answer.conversation_id.in_(cids), Answer.organisation_id.is_(None))))  # fmt: skip
    erased.add("outbox", await _run(session, delete(OutboxMessage).where(OutboxMessage.identity_id.in_(ids))))
    erased.add("snoozes", await _run(session, delete(Snooze).where(Snooze.identity_id.in_(ids))))
    erased.add("memberships", await _run(session, delete(Membership).where(Membership.person_id == person_id)))
    erased.add("dashboard_sessions", await _run(session, delete(DashboardSession).where(
        DashboardSession.person_id == person_id)))  # fmt: skip
    await _run(session, delete(DashboardLink).where(DashboardLink.person_id == person_id))
    await _run(session, delete(NoticeShown).where(NoticeShown.person_id == person_id))
    # A button sent in a group is kept with whose question it was: their platform id and first name.
    accounts = (await session.execute(select(Identity.platform, Identity.platform_user_id).where(
        Identity.id.in_(ids)))).all()  # fmt: skip
    for platform, user_id in accounts:
        erased.add("group_buttons", await _run(session, delete(ButtonPayload).where(
            ButtonPayload.platform == platform, ButtonPayload.owner_user_id == user_id)))  # fmt: skip
    # Join attempts are counted by person and by chat (svbot.support.attempts): those counters go too.
    chats = (await session.execute(select(Identity.platform, Identity.chat_id).where(Identity.id.in_(ids)))).all()
    for prefix in [f"person:{person_id}:", *(f"chat:{platform}:{chat}:" for platform, chat in chats if chat)]:
        await _run(session, delete(AttemptCount).where(AttemptCount.subject.startswith(prefix, autoescape=True)))
    # Links to the person from what others keep: the record stays, who it was goes.
    await _run(session, update(Deadline).where(Deadline.status_by_identity_id.in_(ids)).values(
        status_by_identity_id=None))  # fmt: skip
    await _run(session, update(Broadcast).where(Broadcast.created_by_identity_id.in_(ids)).values(
        created_by_identity_id=None))  # fmt: skip
    await _run(session, update(Invite).where(Invite.created_by_person_id == person_id).values(
        created_by_person_id=None))  # fmt: skip
    await _run(session, update(GrantOutcome).where(GrantOutcome.proposed_by_person_id == person_id).values(
        proposed_by_person_id=None))  # fmt: skip
    await _run(session, update(AuditEntry).where(AuditEntry.person_id == person_id).values(person_id=None))

    # Conversations: kept empty and anonymous where the organisation's answers or statements point at
    # them, deleted otherwise.
    kept = set(await session.scalars(select(Answer.conversation_id).where(Answer.conversation_id.in_(cids))))
    kept |= set(await session.scalars(select(StatementRecord.conversation_id).where(
        StatementRecord.conversation_id.in_(cids))))  # fmt: skip
    gone = [cid for cid in conversation_ids if cid not in kept]
    erased.add("conversations", len(conversation_ids))
    if gone:
        await _run(session, delete(Conversation).where(Conversation.id.in_(gone)))
    for cid in kept:
        await _run(session, update(Conversation).where(Conversation.id == cid).values(
            key=f"{ERASED_PLATFORM}:{cid}", state={}, locale=None))  # fmt: skip
    kept_identities = set(await session.scalars(select(Conversation.identity_id).where(
        Conversation.id.in_(list(kept) or [-1]))))  # fmt: skip
    erased.add("identities", len(identity_ids))
    for iid in identity_ids:
        if iid in kept_identities:
            await _run(session, update(Identity).where(Identity.id == iid).values(
                platform=ERASED_PLATFORM, platform_user_id=f"{ERASED_PLATFORM}:{iid}", chat_id=None,
                display_name="", active=False))  # fmt: skip
        else:
            await _run(session, delete(Identity).where(Identity.id == iid))
    if kept_identities:
        await _run(session, update(Person).where(Person.id == person_id).values(display_name=""))
    else:
        await _run(session, delete(Person).where(Person.id == person_id))
    await log_request(session, ERASE, PERSON, person_id, requested_by, now,
                      {**erased.counts, "blank_texts": blank_texts})  # fmt: skip
    return erased


async def erase_organisation(
    session: AsyncSession, organisation_id: int, *, now: datetime, requested_by: str
) -> Erased | None:
    """Delete the organisation and everything of it; None if there is no such organisation. Its
    360Giving identifier is remembered, hashed, so a re-import does not bring it back. Its people
    stay (they may belong elsewhere), without their membership. The caller commits."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        return None
    erased = Erased()
    oid = organisation_id
    grant_ids = list(await session.scalars(select(Grant.id).where(Grant.organisation_id == oid))) or [-1]
    deadlines = (await session.execute(select(Deadline.id, Deadline.status, Deadline.status_at).where(
        or_(Deadline.organisation_id == oid, Deadline.grant_id.in_(grant_ids))))).all()  # fmt: skip
    deadline_ids = [d.id for d in deadlines] or [-1]
    # What must be kept: that a report was submitted, and when (no names, no content).
    submitted = sorted(d.status_at.date().isoformat() for d in deadlines if d.status == SUBMITTED and d.status_at)

    refs = [f"deadline:{d}" for d in deadline_ids]
    erased.add("outbox", await _run(session, delete(OutboxMessage).where(OutboxMessage.ref.in_(refs))))
    erased.add("monitoring_reports", await _run(session, delete(MonitoringReport).where(
        or_(MonitoringReport.organisation_id == oid, MonitoringReport.deadline_id.in_(deadline_ids)))))  # fmt: skip
    await _run(session, delete(Snooze).where(Snooze.deadline_id.in_(deadline_ids)))
    erased.add("deadlines", await _run(session, delete(Deadline).where(Deadline.id.in_(deadline_ids))))
    await _run(session, delete(GrantOutcome).where(GrantOutcome.grant_id.in_(grant_ids)))
    erased.add("grants", await _run(session, delete(Grant).where(Grant.organisation_id == oid)))
    await _run(session, update(Grant).where(Grant.support_org_id == oid).values(support_org_id=None))
    erased.add("statements", await _run(session, delete(StatementRecord).where(StatementRecord.organisation_id == oid)))
    erased.add("answers", await _run(session, delete(Answer).where(Answer.organisation_id == oid)))
    erased.add("join_codes", await _run(session, delete(Invite).where(Invite.organisation_id == oid)))
    await _run(session, delete(AttemptCount).where(AttemptCount.subject.startswith(f"org:{oid}:", autoescape=True)))
    erased.add("memberships", await _run(session, delete(Membership).where(Membership.organisation_id == oid)))
    # Its people's conversations with it forget it (and what they were saying about it).
    erased.add("conversations_cleared", await _run(session, update(Conversation).where(
        Conversation.organisation_id == oid).values(organisation_id=None, state={})))  # fmt: skip
    # A support organisation: its broadcasts, programmes, schedules, dashboard; its members go free.
    broadcast_refs = [f"broadcast:{b}" for b in await session.scalars(
        select(Broadcast.id).where(Broadcast.support_org_id == oid))] or ["-"]  # fmt: skip
    await _run(session, delete(OutboxMessage).where(OutboxMessage.ref.in_(broadcast_refs)))
    erased.add("broadcasts", await _run(session, delete(Broadcast).where(Broadcast.support_org_id == oid)))
    await _run(session, delete(Programme).where(Programme.support_org_id == oid))
    await _run(session, delete(MonitoringSchedule).where(MonitoringSchedule.support_org_id == oid))
    await _run(session, delete(ReminderPolicy).where(ReminderPolicy.support_org_id == oid))
    await _run(session, delete(DashboardSession).where(DashboardSession.support_org_id == oid))
    await _run(session, delete(DashboardLink).where(DashboardLink.support_org_id == oid))
    await _run(session, delete(AuditEntry).where(AuditEntry.support_org_id == oid))
    await _run(session, update(Organisation).where(Organisation.support_org_id == oid).values(support_org_id=None))
    await _run(session, delete(PrivacyContact).where(PrivacyContact.organisation_id == oid))
    if organisation.external_id:
        digest = external_id_hash(organisation.external_id)
        known = await session.scalar(select(func.count()).where(ErasedOrganisation.external_id_hash == digest))
        if not known:
            session.add(ErasedOrganisation(external_id_hash=digest, erased_at=now))
    await _run(session, delete(Organisation).where(Organisation.id == oid))
    await session.flush()
    await log_request(session, ERASE, ORGANISATION, oid, requested_by, now,
                      {**erased.counts, "submitted_reports": submitted})  # fmt: skip
    return erased


async def remove_member(
    session: AsyncSession, organisation_id: int, person_id: int, *, now: datetime, requested_by: str
) -> bool:
    """An organisation's admin removes a member: their membership goes, their conversations no longer
    speak for the organisation, and reminders queued to them for its deadlines are dropped. The person
    and their other organisations stay; what they gave the organisation stays with it. False if they
    were not a member. The caller checks the admin may (`svbot.support.access.can_manage`) and commits."""
    removed = await _run(session, delete(Membership).where(
        Membership.person_id == person_id, Membership.organisation_id == organisation_id))  # fmt: skip
    if not removed:
        return False
    identity_ids = list(await session.scalars(select(Identity.id).where(Identity.person_id == person_id))) or [-1]
    cleared = await _run(session, update(Conversation).where(
        Conversation.identity_id.in_(identity_ids), Conversation.organisation_id == organisation_id,
    ).values(organisation_id=None, state={}))  # fmt: skip
    refs = [f"deadline:{d}" for d in await session.scalars(
        select(Deadline.id).where(Deadline.organisation_id == organisation_id))] or ["-"]  # fmt: skip
    dropped = await _run(session, delete(OutboxMessage).where(
        OutboxMessage.identity_id.in_(identity_ids), OutboxMessage.ref.in_(refs)))  # fmt: skip
    detail = {"organisation_id": organisation_id, "conversations_cleared": cleared, "outbox": dropped}
    await log_request(session, REMOVE, PERSON, person_id, requested_by, now, detail)
    return True


async def _blank_texts(session: AsyncSession, conversation_ids: list[int], free_text: frozenset[str]) -> int:
    """Blank the long-text answers given in these conversations, and the same fields of the statements
    made from them. Returns how many texts were blanked."""
    blanked = 0
    answers = await session.scalars(select(Answer).where(Answer.conversation_id.in_(conversation_ids)))
    for answer in answers:
        if answer.key.rsplit(".", 1)[-1] in free_text and answer.value not in (None, ""):
            answer.value = None
            blanked += 1
    statements = await session.scalars(
        select(StatementRecord).where(StatementRecord.conversation_id.in_(conversation_ids))
    )
    for statement in statements:
        data, count = _blank_fields(statement.data, free_text)
        if count:
            statement.data = data
            blanked += count
    await session.flush()
    return blanked


def _blank_fields(value: Any, names: frozenset[str]) -> tuple[Any, int]:
    """A copy of JSON `value` with every field named in `names` set to None, and how many were."""
    if isinstance(value, dict):
        count, result = 0, {}
        for key, item in value.items():
            if key in names and item not in (None, ""):
                result[key], count = None, count + 1
            else:
                result[key], more = _blank_fields(item, names)
                count += more
        return result, count
    if isinstance(value, list):
        items = [_blank_fields(item, names) for item in value]
        return [item for item, _ in items], sum(count for _, count in items)
    return value, 0


async def _run(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return result.rowcount or 0
