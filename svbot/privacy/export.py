"""What svbot holds about a person or an organisation (UK GDPR right of access), as JSON (complete,
for machines and for the record) and as plain text (a summary a person can read).

    data = await person_data(session, person_id)   # None: no such person
    files = export_files(data, "person")            # [FileOut json, FileOut txt]

Every table that refers to a person, their chat identities or their conversations is read here; so
is every table that refers to an organisation. Hashes of join codes and sign-in tokens are left out:
they are svbot's security, not anyone's personal data, and useless to the reader.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.dashboard.models import AuditEntry, DashboardSession
from svbot.deadlines.models import Deadline, Grant, GrantOutcome, Programme, Snooze
from svbot.delivery.models import OutboxMessage
from svbot.evidence import StatementRecord
from svbot.messages import FileOut
from svbot.models import Answer, Conversation, Identity, Membership, Organisation, Person
from svbot.monitoring import MonitoringReport
from svbot.privacy.models import ORGANISATION, PERSON, PrivacyContact, PrivacyRequest
from svbot.support.models import Broadcast, Invite
from svbot.text import text

# Security material, not personal data: never exported.
_SECRET_COLUMNS = frozenset({"code_hash", "token_hash", "csrf_token", "claim_token"})


async def person_data(session: AsyncSession, person_id: int) -> dict[str, Any] | None:
    """Everything svbot holds about this person, by section; None if there is no such person."""
    person = await session.get(Person, person_id)
    if person is None:
        return None
    identities = list(await session.scalars(select(Identity).where(Identity.person_id == person_id)))
    identity_ids = [i.id for i in identities] or [-1]
    conversations = list(
        await session.scalars(
            select(Conversation).where(Conversation.identity_id.in_(identity_ids)).order_by(Conversation.id)
        )
    )
    conversation_ids = [c.id for c in conversations] or [-1]
    memberships = (
        await session.execute(
            select(Membership, Organisation.name)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Membership.person_id == person_id)
            .order_by(Membership.id)
        )
    ).all()

    async def rows(model: Any, *where: Any) -> list[dict[str, Any]]:
        found = await session.scalars(select(model).where(*where).order_by(*model.__table__.primary_key.columns))
        return [row_dict(row) for row in found]

    return {
        "person": row_dict(person),
        "identities": [row_dict(i) for i in identities],
        "memberships": [{**row_dict(m), "organisation": name} for m, name in memberships],
        "conversations": [row_dict(c) for c in conversations],
        "answers": await rows(Answer, Answer.conversation_id.in_(conversation_ids)),
        "messages_sent_to_you": await rows(OutboxMessage, OutboxMessage.identity_id.in_(identity_ids)),
        "snoozed_reminders": await rows(Snooze, Snooze.identity_id.in_(identity_ids)),
        "reports_you_marked": await rows(Deadline, Deadline.status_by_identity_id.in_(identity_ids)),
        "outcomes_you_proposed": await rows(GrantOutcome, GrantOutcome.proposed_by_person_id == person_id),
        # The statements are the organisation's (its export has them whole): here, that they exist.
        "statements_from_your_conversations": [
            {key: row[key] for key in ("id", "organisation_id", "period", "shared", "created_at")}
            for row in await rows(StatementRecord, StatementRecord.conversation_id.in_(conversation_ids))
        ],
        "join_codes_you_made": await rows(Invite, Invite.created_by_person_id == person_id),
        "broadcasts_you_started": await rows(Broadcast, Broadcast.created_by_identity_id.in_(identity_ids)),
        "dashboard_sessions": await rows(DashboardSession, DashboardSession.person_id == person_id),
        "dashboard_audit_log": await rows(AuditEntry, AuditEntry.person_id == person_id),
        "privacy_requests": await rows(
            PrivacyRequest, PrivacyRequest.subject == PERSON, PrivacyRequest.subject_id == person_id
        ),
    }


async def organisation_data(session: AsyncSession, organisation_id: int) -> dict[str, Any] | None:
    """Everything svbot holds about this organisation, by section; None if there is no such organisation."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        return None
    members = (
        await session.execute(
            select(Membership, Person.display_name)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.organisation_id == organisation_id)
            .order_by(Membership.id)
        )
    ).all()
    grant_ids = list(await session.scalars(select(Grant.id).where(Grant.organisation_id == organisation_id))) or [-1]

    async def rows(model: Any, *where: Any) -> list[dict[str, Any]]:
        found = await session.scalars(select(model).where(*where).order_by(*model.__table__.primary_key.columns))
        return [row_dict(row) for row in found]

    return {
        "organisation": row_dict(organisation),
        "members": [{**row_dict(m), "name": name} for m, name in members],
        "privacy_contact": await rows(PrivacyContact, PrivacyContact.organisation_id == organisation_id),
        "grants": await rows(Grant, Grant.organisation_id == organisation_id),
        "grant_outcomes": await rows(GrantOutcome, GrantOutcome.grant_id.in_(grant_ids)),
        "deadlines": await rows(Deadline, Deadline.organisation_id == organisation_id),
        "monitoring_reports": await rows(MonitoringReport, MonitoringReport.organisation_id == organisation_id),
        "statements": await rows(StatementRecord, StatementRecord.organisation_id == organisation_id),
        "answers": await rows(Answer, Answer.organisation_id == organisation_id),
        "join_codes": await rows(Invite, Invite.organisation_id == organisation_id),
        "broadcasts": await rows(Broadcast, Broadcast.support_org_id == organisation_id),
        "programmes": await rows(Programme, Programme.support_org_id == organisation_id),
        "member_organisations": await rows(Organisation, Organisation.support_org_id == organisation_id),
        "dashboard_audit_log": await rows(AuditEntry, AuditEntry.support_org_id == organisation_id),
        "privacy_requests": await rows(
            PrivacyRequest, PrivacyRequest.subject == ORGANISATION, PrivacyRequest.subject_id == organisation_id
        ),
    }


def export_files(data: dict[str, Any], subject: str, subject_id: int, today: date) -> list[FileOut]:
    """The JSON file (everything) and the plain-text summary, named for the subject and the day."""
    stem = f"svbot-{subject}-{subject_id}-{today.isoformat()}"
    return [
        FileOut(f"{stem}.json", as_json(data).encode("utf-8"), "application/json", text("privacy.export.json_title")),
        FileOut(
            f"{stem}.txt", summary(data, subject, today).encode("utf-8"), "text/plain", text("privacy.export.txt_title")
        ),  # fmt: skip
    ]


def as_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_plain) + "\n"


def summary(data: dict[str, Any], subject: str, today: date) -> str:
    """A readable account: each section's name and how many entries, then the entries in short."""
    lines = [
        text(f"privacy.export.heading_{subject}", day=today.isoformat()),
        "",
        text("privacy.export.how_to_read"),
        "",
    ]
    for section, entries in data.items():
        if isinstance(entries, dict):  # the person or organisation itself
            lines.append(text(f"privacy.export.section.{section}"))
            lines.extend(f"  {name}: {_short(value)}" for name, value in entries.items())
            lines.append("")
            continue
        lines.append(text("privacy.export.section_count", section=text(f"privacy.export.section.{section}"),
                          count=len(entries)))  # fmt: skip
        for entry in entries:
            shown = ", ".join(
                f"{name}: {_short(value)}" for name, value in entry.items() if value not in (None, "", {})
            )
            lines.append(f"  - {shown}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def row_dict(row: Any) -> dict[str, Any]:
    """A mapped row as plain JSON values, without security material."""
    values: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.key in _SECRET_COLUMNS:
            continue
        values[column.key] = _plain(getattr(row, column.key))
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _short(value: Any, limit: int = 300) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=_plain)
    shown = " ".join(shown.split())
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
