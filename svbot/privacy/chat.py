"""The chat side of privacy: the notice at first contact and on `privacy`, `my data` (an export, as
files) and `delete my data` (with a confirmation, and an offer to blank the texts they wrote).

Buttons: `pv:erase:PERSON` (yes, delete), `pv:blank:PERSON` / `pv:keep:PERSON` (blank the texts I
wrote, or leave them with my organisation), `pv:no` (keep everything); for an organisation's admin,
`remove member`: `pv:rm:ORG:PERSON` (this one?) and `pv:rmyes:ORG:PERSON` (yes, remove them).
Ids in buttons are untrusted: the person id of an erasure button must be the person pressing it, and
a removal is checked against the presser's role in the organisation, every time.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import bindparam, insert, select

from svbot.dialogue.state import ConvState
from svbot.messages import Button, Outbound
from svbot.models import Membership, Organisation, Person
from svbot.privacy.erase import erase_person, free_text_steps, remove_member
from svbot.privacy.export import export_files, person_data
from svbot.privacy.models import EXPORT, PERSON, NoticeShown, PrivacyContact
from svbot.privacy.requests import by_person, log_request
from svbot.support import access
from svbot.support.models import ORG_ADMIN, SUPPORT_ADMIN
from svbot.text import text
from svbot.turns import Bot, Turn

log = logging.getLogger(__name__)

MAX_BUTTONS = 24

# At first contact: the person (none if erased), and whether they have seen the notice; then its mark.
# Built once: building a statement costs more than running it.
_SHOWN = (
    select(Person.id, NoticeShown.person_id.label("notice"))
    .outerjoin(NoticeShown, NoticeShown.person_id == Person.id)
    .where(Person.id == bindparam("person"))
)
_SHOW = insert(NoticeShown)


def install(bot: Bot) -> None:
    bot.on_turn_end.append(_first_contact)
    bot.payload_handlers["pv"] = _button

    @bot.intent("privacy", "privacy", "/privacy", "privacy notice", "your privacy", menu=text("privacy.menu"))
    async def privacy(turn: Turn) -> None:
        turn.say(await notice(turn))

    @bot.intent("my_data", "my data", "/mydata", "mydata", "export my data", "what do you know about me",
                "what data do you hold", menu=text("privacy.export.menu"), private=True)  # fmt: skip
    async def my_data(turn: Turn) -> None:
        await _export(turn)

    @bot.intent("delete_my_data", "delete my data", "/deletemydata", "deletemydata", "erase my data", "forget me",
                "delete me", menu=text("privacy.erase.menu"), private=True)  # fmt: skip
    async def delete_my_data(turn: Turn) -> None:
        person = turn.identity.person_id
        turn.say(text("privacy.erase.confirm"), buttons=(
            Button(text("privacy.erase.yes"), f"pv:erase:{person}", style="danger"),
            Button(text("privacy.erase.no"), "pv:no"),
        ), kind="question")  # fmt: skip

    @bot.intent("remove_member", "remove member", "/removemember", "removemember", "remove a member",
                menu=text("privacy.remove.menu"), roles=(ORG_ADMIN, SUPPORT_ADMIN), private=True)  # fmt: skip
    async def remove_member_word(turn: Turn) -> None:
        await _remove_start(turn)


async def _remove_start(turn: Turn) -> None:
    """`remove member`: the organisation's members as buttons, for its admin."""
    org_id = turn.conversation.organisation_id
    me = turn.identity.person_id
    if org_id is None or not await access.can_manage(turn.session, me, org_id):
        turn.say(text("privacy.remove.admins_only"))
        return
    members = (await turn.session.execute(
        select(Person.id, Person.display_name).join(Membership, Membership.person_id == Person.id)
        .where(Membership.organisation_id == org_id, Person.id != me).order_by(Person.display_name, Person.id)
        .limit(MAX_BUTTONS))).all()  # fmt: skip
    if not members:
        turn.say(text("privacy.remove.nobody"))
        return
    buttons = tuple(Button((name or text("privacy.remove.unnamed", id=pid))[:60], f"pv:rm:{org_id}:{pid}")
                    for pid, name in members)  # fmt: skip
    turn.say(text("privacy.remove.which"), buttons=buttons, kind="question")


async def _remove(turn: Turn, parts: list[str], confirmed: bool) -> None:
    """`pv:rm:ORG:PERSON` asks to confirm; `pv:rmyes:ORG:PERSON` removes. Both check the admin again."""
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        turn.say(text("core.old_button"), kind="error")
        return
    org_id, person = int(parts[2]), int(parts[3])
    me = turn.identity.person_id
    target_role = await access.role_in(turn.session, person, org_id)
    if not await access.can_manage(turn.session, me, org_id) or target_role is None or person == me:
        turn.say(text("support.not_found"), kind="error")
        return
    target = await turn.session.get(Person, person)
    name = (target.display_name if target else "") or text("privacy.remove.unnamed", id=person)
    if not confirmed:
        turn.say(text("privacy.remove.confirm", name=name), buttons=(
            Button(text("privacy.remove.yes"), f"pv:rmyes:{org_id}:{person}", style="danger"),
            Button(text("privacy.erase.no"), "pv:no"),
        ), kind="question")  # fmt: skip
        return
    await remove_member(turn.session, org_id, person, now=turn.now, requested_by=by_person(me))
    turn.say(text("privacy.remove.done", name=name))


async def notice(turn: Turn) -> str:
    """The full privacy notice, with whom to ask."""
    settings = turn.bot.settings
    assert settings is not None
    values = {
        "sent_days": settings.retention_sent_days,
        "abandoned_months": settings.retention_abandoned_months,
    }
    contact = await _contact(turn)
    ask = text("privacy.notice.contact", contact=contact) if contact else text("privacy.notice.no_contact")
    return text("privacy.notice.full", **values) + "\n\n" + ask


async def _first_contact(turn: Turn) -> None:
    """A new conversation of someone who has never seen the notice: the notice, briefly and once, at the
    top of the first message (one message more would bury what they asked for)."""
    if turn.conversation.version != 0 or turn.inbound.is_group or not turn.messages:
        return
    if turn.inbound.payload or any(message.kind == "error" for message in turn.messages):
        return  # a button from elsewhere, or a refusal: the notice waits for a conversation that starts
    person = turn.identity.person_id
    if not turn.has_session:
        # Nothing of this turn waits in an ORM session, so the database says all: one query and one
        # INSERT, with the turn's own statements (`turn.queries`: straight on the driver), where the
        # ORM's gets and flush cost a new person's first turn about a third more CPU, and SQLAlchemy's
        # execute about a third of what was left (`bench/telegram_turns.py`).
        row = await turn.queries.first(_SHOWN, {"person": person})
        if row is None or row["notice"] is not None:  # erased in this very turn, or shown before
            return
        await turn.queries.run(_SHOW, {"person_id": person, "shown_at": turn.now})
    else:
        if await turn.session.get(NoticeShown, person) is not None:
            return
        if await turn.session.get(Person, person) is None:  # erased in this very turn
            return
        turn.session.add(NoticeShown(person_id=person, shown_at=turn.now))
    first = turn.messages[0]
    if first.markdown:  # a statement: the notice goes in a message of its own
        turn.messages.insert(0, Outbound(text=text("privacy.notice.brief")))
    else:
        turn.messages[0] = replace(first, text=text("privacy.notice.brief") + "\n\n" + first.text)


async def _contact(turn: Turn) -> str | None:
    """The privacy contact of the person's organisation or its support organisation, else the operator's."""
    rows = (
        await turn.session.execute(
            select(Organisation.id, Organisation.support_org_id)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(Membership.person_id == turn.identity.person_id)
            .order_by(Organisation.id)
        )
    ).all()
    current = turn.conversation.organisation_id
    rows.sort(key=lambda row: row[0] != current)  # the organisation of this chat first
    candidates = [org for row in rows for org in (row[1], row[0]) if org is not None]
    if candidates:
        found = dict((await turn.session.execute(
            select(PrivacyContact.organisation_id, PrivacyContact.contact)
            .where(PrivacyContact.organisation_id.in_(candidates)))).all())  # fmt: skip
        for org in candidates:
            if found.get(org):
                return found[org]
    settings = turn.bot.settings
    return settings.privacy_contact if settings is not None else None


async def _export(turn: Turn) -> None:
    person = turn.identity.person_id
    data = await person_data(turn.session, person)
    assert data is not None, "the person of this turn exists"
    files = export_files(data, PERSON, person, turn.now.date())
    counts = {name: len(value) for name, value in data.items() if isinstance(value, list)}
    await log_request(turn.session, EXPORT, PERSON, person, by_person(person), turn.now, counts)
    turn.say(text("privacy.export.sent"), file=files[0], private=True)
    turn.say(text("privacy.export.summary"), file=files[1], private=True)


async def _button(turn: Turn) -> None:
    parts = (turn.inbound.payload or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "no":
        turn.say(text("privacy.erase.kept"))
        return
    if action in ("rm", "rmyes"):
        await _remove(turn, parts, action == "rmyes")
        return
    person = turn.identity.person_id
    if len(parts) != 3 or parts[2] != str(person) or action not in ("erase", "blank", "keep"):
        turn.say(text("core.old_button"), kind="error")
        return
    if action == "erase":
        turn.say(text("privacy.erase.blank_question"), buttons=(
            Button(text("privacy.erase.blank_yes"), f"pv:blank:{person}", style="danger"),
            Button(text("privacy.erase.blank_no"), f"pv:keep:{person}"),
        ), kind="question")  # fmt: skip
        return
    free_text = free_text_steps(turn.bot.dialogues)
    erased = await erase_person(turn.session, person, now=turn.now, requested_by=by_person(person),
                                blank_texts=action == "blank", free_text=free_text)  # fmt: skip
    if erased is None:  # erased already (a second press)
        turn.say(text("privacy.erase.done"))
        return
    # Nothing of the conversation is written back at the end of the turn.
    turn.state = ConvState()
    turn.conversation.organisation_id = None
    turn.say(text("privacy.erase.done"))
