"""The chat side of support organisations: join, invite, switch organisation, members' status,
shared statements and composing broadcasts.

Every handler checks the person's role in the database before it reads or writes, and treats ids
in buttons and typed commands as untrusted: an id the person may not use gets the same answer as
an id that does not exist.

Buttons: `sv:use:ORG` (work as this organisation), `sv:org:ORG` (a member's status),
`sv:stmt:STATEMENT` (read a statement), `bc:org:SUPPORT` (which support organisation),
`bc:to:SUPPORT:KIND[:VALUE]` (the audience), `bc:send:ID` / `bc:cancel:ID` (after the preview).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from svbot.deadlines.service import format_due_list, upcoming_for_org
from svbot.evidence import StatementRecord, build_statement, latest_statement
from svbot.messages import Button, FileOut
from svbot.models import Organisation
from svbot.statements.render import MEDIA_TYPES, chat_chunks, render
from svbot.support import access, broadcasts, invites
from svbot.support.models import DRAFT, MEMBER, ORG_ADMIN, SUPPORT_ADMIN, Broadcast
from svbot.turns import Bot, Turn

log = logging.getLogger(__name__)

DIALOGUE = "broadcast"
MAX_BUTTONS = 24
NOT_FOUND = "Sorry, I can't find that, or it isn't yours to see."
SUPPORT_ONLY = "Only a support organisation's admins can do that."
ADMINS = (ORG_ADMIN, SUPPORT_ADMIN)


def install(bot: Bot) -> None:
    bot.context_providers.append(_framework_context)

    @bot.intent("join", "join", "/join", takes_args=True, menu="Join your organisation with a code")
    async def join(turn: Turn) -> None:
        await _join(turn)

    @bot.intent("invite", "invite", "/invite", takes_args=True, menu="Invite someone to your organisation",
                roles=ADMINS)  # fmt: skip
    async def invite(turn: Turn) -> None:
        await _invite(turn)

    @bot.intent("organisations", "organisations", "my organisations", "orgs", "/orgs", "switch organisation",
                menu="Your organisations; switch between them")  # fmt: skip
    async def organisations(turn: Turn) -> None:
        await _organisations(turn)

    @bot.intent("members", "members", "/members", "member status", "our members",
                menu="Your members and their reports", roles=ADMINS)  # fmt: skip
    async def members(turn: Turn) -> None:
        await _members(turn)

    @bot.intent("broadcast", "broadcast", "/broadcast", "send a broadcast", menu="Send a message to your members",
                roles=(SUPPORT_ADMIN,))  # fmt: skip
    async def broadcast(turn: Turn) -> None:
        await _broadcast_start(turn)

    @bot.intent("broadcast_status", "broadcast status", "broadcasts", "/broadcasts")
    async def broadcast_status(turn: Turn) -> None:
        await _broadcast_status(turn)

    @bot.intent("share", "share statement", "share my statement", "/share")
    async def share(turn: Turn) -> None:
        await _share(turn, True)

    @bot.intent("unshare", "stop sharing", "unshare statement", "/unshare")
    async def unshare(turn: Turn) -> None:
        await _share(turn, False)

    bot.payload_handlers["sv"] = _sv_button
    bot.payload_handlers["bc"] = _bc_button
    bot.on_complete[DIALOGUE] = _broadcast_written


# ---- the support organisation's framework, for the social value walk-through ----------------------


async def _framework_context(turn: Turn, context: dict[str, Any]) -> None:
    """Members of a support organisation that chose a framework are not asked to pick one."""
    org_id = turn.conversation.organisation_id
    if org_id is None:
        return
    framework = await support_framework(turn.connection, org_id)
    if framework and (turn.bot.knowledge is None or framework in turn.bot.knowledge.frameworks):
        context["support_framework"] = framework


async def support_framework(connection: AsyncConnection, organisation_id: int) -> str | None:
    """The framework the organisation's support organisation chose (or its own, for a support
    organisation), if any. One indexed query on the turn's connection: it runs every turn."""
    member, support = Organisation.__table__.alias("member"), Organisation.__table__.alias("support")
    row = (
        await connection.execute(
            select(member.c.kind, member.c.framework_id, support.c.framework_id)
            .outerjoin(support, support.c.id == member.c.support_org_id)
            .where(member.c.id == organisation_id)
        )
    ).first()
    if row is None:
        return None
    kind, own, chosen = row
    return own if kind == "support" else chosen


# ---- joining and inviting ---------------------------------------------------------------------------


async def _join(turn: Turn) -> None:
    code = turn.args.strip()
    if code and not invites.looks_like_code(code) and _in_dialogue(turn):
        _answer_instead(turn)  # "join us for lunch" is an answer to the question, not a code
        return
    if not code:
        turn.say("Send join followed by the code you were given, like this: join K7QF-9XWA2")
        return
    joined = await invites.redeem(turn.session, code, turn.identity.person_id, turn.now)
    if joined is None:
        turn.say(
            "Sorry, that code doesn't work: it may be mistyped, used up or out of date. "
            "Please ask whoever gave it to you for a new one.",
            kind="error",
        )
        return
    turn.conversation.organisation_id = joined.organisation_id
    await turn.refresh_context()
    role = {MEMBER: "a member", ORG_ADMIN: "an admin", SUPPORT_ADMIN: "an admin"}.get(joined.role, "a member")
    if joined.already:
        turn.say(f"You're already {role} of {joined.organisation_name}. I'll work with that organisation now.")
        return
    welcome = f"Welcome! You're now {role} of {joined.organisation_name}."
    if _in_dialogue(turn):  # they joined mid walk-through: carry on where they were
        turn.say(welcome + " Let's carry on.")
        turn.apply(turn.bot.engine.resume(turn.state, turn.context(), turn.now))
        return
    turn.say(f"{welcome} {_next_steps(joined.role)}")


_INVITE_WORDS = {"admin", "admins", "org_admin", "support_admin", "member"}


def _in_dialogue(turn: Turn) -> bool:
    return turn.state.dialogue is not None and turn.state.mode not in ("idle", "done")


def _answer_instead(turn: Turn) -> None:
    """Give the words to the walk-through as an answer, as the core does with any unmatched text."""
    engine, state = turn.bot.engine, turn.state
    if state.mode == "paused":
        turn.apply(engine.resume(state, turn.context(), turn.now))
        return
    turn.apply(engine.advance(state, turn.context(), turn.now, text=turn.inbound.text, payload=None))


def _next_steps(role: str) -> str:
    if role == SUPPORT_ADMIN:
        return "Say members to see how your members are doing, or broadcast to send them a message."
    return "Say start to describe your group's social value, or help to see what else I can do."


async def _invite(turn: Turn) -> None:
    """`invite`, `invite admin`, `invite 12`, `invite 12 admin`: a join code for the organisation."""
    words = turn.args.lower().split()
    if any(not (w.isdigit() or w in _INVITE_WORDS) for w in words) and _in_dialogue(turn):
        _answer_instead(turn)  # "invite friends to lunch" answers the question
        return
    org_id = next((int(w) for w in words if w.isdigit()), turn.conversation.organisation_id)
    if org_id is None:
        turn.say("Which organisation? Say organisations to choose one first, then invite.")
        return
    organisation = await turn.session.get(Organisation, org_id)
    wants_admin = any(w in _INVITE_WORDS - {"member"} for w in words)
    role = MEMBER
    if wants_admin and organisation is not None:
        role = SUPPORT_ADMIN if organisation.kind == "support" else ORG_ADMIN
    if organisation is None or not await access.can_invite(turn.session, turn.identity.person_id, org_id, role):
        turn.say("Sorry, you can't invite people to that organisation. Ask one of its admins.", kind="error")
        return
    made = await invites.create_invite(
        turn.session, org_id, turn.now, role=role, created_by_person_id=turn.identity.person_id
    )
    who = "an admin" if role != MEMBER else "a member"
    turn.say(
        f"Here's a code that makes one person {who} of {made.organisation_name}. It works once, "
        f"until {made.expires_at.astimezone(turn.bot.tz):%-d %B %Y}:\n\n{made.code}\n\n"
        "They send join and the code to me, in Slack, Telegram or the terminal: join " + made.code
    )


# ---- which organisation -------------------------------------------------------------------------------


async def _organisations(turn: Turn) -> None:
    mine = await access.organisations_of(turn.session, turn.identity.person_id)
    if not mine:
        turn.say("You're not part of any organisation yet. If someone gave you a code, send: join CODE")
        return
    current = turn.conversation.organisation_id
    lines = [f"{'→ ' if o.id == current else '• '}{o.name} ({_role_name(role)})" for o, role in mine]
    buttons = tuple(Button(o.name[:60], f"sv:use:{o.id}") for o, _ in mine[:MAX_BUTTONS] if o.id != current)
    turn.say("Your organisations:\n" + "\n".join(lines), buttons=buttons)


def _role_name(role: str) -> str:
    return {MEMBER: "member", ORG_ADMIN: "admin", SUPPORT_ADMIN: "support admin"}.get(role, role)


async def _sv_button(turn: Turn) -> None:
    action, _, raw_id = (turn.inbound.payload or "").partition(":")[2].partition(":")
    if not raw_id.isdigit():
        turn.say(NOT_FOUND, kind="error")
        return
    target = int(raw_id)
    person = turn.identity.person_id
    if action == "use":
        if await access.role_in(turn.session, person, target) is None:
            turn.say(NOT_FOUND, kind="error")
            return
        organisation = await turn.session.get(Organisation, target)
        turn.conversation.organisation_id = target
        await turn.refresh_context()
        turn.say(f"OK, I'm working with {organisation.name if organisation else 'that organisation'} now.")
    elif action == "org":
        await _member_detail(turn, target)
    elif action == "stmt":
        record = await access.visible_statement(turn.session, person, target)
        if record is None:
            turn.say(NOT_FOUND, kind="error")
            return
        _send_statement(turn, record)
    else:
        turn.say(NOT_FOUND, kind="error")


# ---- what a support admin sees -----------------------------------------------------------------------


async def _members(turn: Turn) -> None:
    supports = await access.admin_support_orgs(turn.session, turn.identity.person_id)
    if not supports:
        turn.say(SUPPORT_ONLY)
        return
    today = turn.now.date()
    for support in supports:
        statuses = await access.member_statuses(turn.session, turn.identity.person_id, support.id, today)
        if not statuses:
            turn.say(f"{support.name} has no member organisations yet. Add them with svbot support add-org.")
            continue
        late = sum(1 for s in statuses if s.overdue)
        lines = [
            f"• {s.name}: "
            + (f"{s.overdue} overdue" if s.overdue else "nothing overdue")
            + (f", {s.due_soon} due soon" if s.due_soon else "")
            + (", statement shared" if s.shared_statement_id else "")
            for s in statuses
        ]
        buttons = tuple(Button(s.name[:60], f"sv:org:{s.organisation_id}") for s in statuses[:MAX_BUTTONS])
        turn.say(
            f"{support.name}: {_count(len(statuses), 'member')}, {late} with overdue reports.\n" + "\n".join(lines),
            buttons=buttons,
        )


async def _member_detail(turn: Turn, organisation_id: int) -> None:
    organisation = await access.supporting_admin(turn.session, turn.identity.person_id, organisation_id)
    if organisation is None:
        turn.say(NOT_FOUND, kind="error")
        return
    items = await upcoming_for_org(turn.session, organisation.id, turn.now.date())
    text = f"{organisation.name}\n" + format_due_list(items, turn.now.date())
    shared = await access.latest_shared_statement(turn.session, organisation.id)
    buttons: tuple[Button, ...] = ()
    if shared is not None:
        buttons = (Button("Read their statement", f"sv:stmt:{shared.id}"),)
    else:
        text += "\nThey haven't shared a social value statement with you."
    turn.say(text, buttons=buttons)


def _send_statement(turn: Turn, record: StatementRecord) -> None:
    statement = build_statement(record, turn.bot.knowledge)
    turn.say(f"The social value statement of {statement.org_name}:")
    for chunk in chat_chunks(statement, turn.bot.message_size(turn.inbound.platform)):
        turn.say(chunk, markdown=True)
    docx = render(statement, "docx")
    assert isinstance(docx, bytes)
    stem = re.sub(r"[^a-z0-9]+", "-", statement.org_name.lower()).strip("-")[:60] or "statement"
    turn.say(
        "As a Word document:",
        file=FileOut(f"{stem}-social-value.docx", docx, MEDIA_TYPES["docx"], "Social value statement"),
    )


async def _share(turn: Turn, shared: bool) -> None:
    org_id = turn.conversation.organisation_id
    if org_id is None or await access.role_in(turn.session, turn.identity.person_id, org_id) != ORG_ADMIN:
        turn.say("Only your organisation's admin can choose whether to share its statement.")
        return
    record = await latest_statement(turn.session, org_id)
    if record is None:
        turn.say("You haven't got a statement yet. Say start and I'll walk you through it.")
        return
    # Only the latest statement is shared: an older draft they have since improved stays private.
    await turn.session.execute(
        update(StatementRecord)
        .where(StatementRecord.organisation_id == org_id)
        .values(shared=False)
        .execution_options(synchronize_session=False)
    )
    await turn.session.execute(
        update(StatementRecord)
        .where(StatementRecord.id == record.id)
        .values(shared=shared)
        .execution_options(synchronize_session=False)
    )
    if shared:
        turn.say(
            "Thanks! Your support organisation can now read your latest statement and may quote it in "
            "its annual social value report. Say stop sharing to change your mind."
        )
    else:
        turn.say("Done: your statement is no longer shared with your support organisation.")


# ---- broadcasts ------------------------------------------------------------------------------------------


async def _broadcast_start(turn: Turn) -> None:
    supports = await access.admin_support_orgs(turn.session, turn.identity.person_id)
    if not supports:
        turn.say(SUPPORT_ONLY)
        return
    current = next((s for s in supports if s.id == turn.conversation.organisation_id), None)
    if current is None and len(supports) > 1:
        buttons = tuple(Button(s.name[:60], f"bc:org:{s.id}") for s in supports[:MAX_BUTTONS])
        turn.say("Which organisation is the broadcast from?", buttons=buttons)
        return
    await _ask_audience(turn, current or supports[0])


async def _ask_audience(turn: Turn, support: Organisation) -> None:
    sid = support.id
    buttons = [
        Button("All members", f"bc:to:{sid}:all"),
        Button("Members with overdue reports", f"bc:to:{sid}:overdue"),
        Button("A programme", f"bc:to:{sid}:programme"),
        Button("One organisation", f"bc:to:{sid}:org"),
    ]
    turn.say(f"A message from {support.name}. Who is it for?", buttons=tuple(buttons))


async def _bc_button(turn: Turn) -> None:
    parts = (turn.inbound.payload or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if len(parts) < 3 or not parts[2].isdigit():
        turn.say(NOT_FOUND, kind="error")
        return
    target = int(parts[2])
    if action in ("send", "cancel"):
        await _bc_decide(turn, target, action)
        return
    if not await access.is_support_admin(turn.session, turn.identity.person_id, target):
        turn.say(SUPPORT_ONLY, kind="error")
        return
    support = await turn.session.get(Organisation, target)
    assert support is not None
    if action == "org":
        await _ask_audience(turn, support)
    elif action == "to":
        await _bc_audience(turn, support, parts[3:])
    else:
        turn.say(NOT_FOUND, kind="error")


async def _bc_audience(turn: Turn, support: Organisation, rest: list[str]) -> None:
    kind = rest[0] if rest else ""
    value = ":".join(rest[1:]) or None
    session, sid = turn.session, support.id
    if kind == "programme" and value is None:
        found = await broadcasts.programmes(session, sid)
        if not found:
            turn.say("None of your members has a grant with a programme yet. Import grants with svbot grants import.")
            return
        buttons = tuple(Button(title[:60], f"bc:to:{sid}:programme:{code}") for code, title in found[:MAX_BUTTONS])
        turn.say("Which programme?", buttons=buttons)
        return
    if kind == "org" and value is None:
        members = await access.member_orgs(session, sid)
        if not members:
            turn.say(f"{support.name} has no member organisations yet.")
            return
        buttons = tuple(Button(o.name[:60], f"bc:to:{sid}:org:{o.id}") for o in members[:MAX_BUTTONS])
        extra = "" if len(members) <= MAX_BUTTONS else " (the first few; use svbot broadcast --to org:ID for others)"
        turn.say(f"Which organisation?{extra}", buttons=buttons)
        return
    try:
        audience = broadcasts.parse_audience(kind if value is None else f"{kind}:{value}")
        people = await broadcasts.recipients(session, sid, audience, turn.now.date())
    except broadcasts.BroadcastError:
        turn.say(NOT_FOUND, kind="error")
        return
    if not people:
        what = await broadcasts.describe(session, sid, audience)
        turn.say(f"There's nobody I can reach among {what} at the moment, so there's nothing to send.")
        return
    draft = await broadcasts.draft(session, sid, audience, by_identity_id=turn.identity.id, now=turn.now)
    what = await broadcasts.describe(session, sid, audience)
    turn.start_dialogue(DIALOGUE, intro=f"A message to {what} ({_people(len(people))}).")
    turn.state.answers["broadcast_id"] = draft.id


async def _broadcast_written(turn: Turn) -> None:
    """The dialogue is finished: store the text and show the preview with Send and Cancel."""
    draft = await _own_draft(turn, turn.state.answers.get("broadcast_id"))
    if draft is None:
        turn.say("Sorry, I lost track of that broadcast. Say broadcast to start again.", kind="error")
        return
    try:
        draft.message = broadcasts.check_message(str(turn.state.answers.get("message") or ""))
    except broadcasts.BroadcastError as exc:
        turn.say(f"Sorry, {exc}. Say broadcast to try again.", kind="error")
        return
    support = await turn.session.get(Organisation, draft.support_org_id)
    audience = broadcasts.parse_audience(draft.audience)
    people = await broadcasts.recipients(turn.session, draft.support_org_id, audience, turn.now.date())
    orgs = len({p.organisation_id for p in people})
    what = await broadcasts.describe(turn.session, draft.support_org_id, audience)
    turn.say("Here's how it will look:")
    turn.say(broadcasts.broadcast_message(support.name if support else "", draft.message).text)
    turn.say(
        f"It goes to {_people(len(people))} in {orgs} organisation{'s' if orgs != 1 else ''} ({what}). Send it now?",
        buttons=(
            Button("Send", f"bc:send:{draft.id}", style="primary"),
            Button("Cancel", f"bc:cancel:{draft.id}", style="danger"),
        ),
    )


async def _bc_decide(turn: Turn, broadcast_id: int, action: str) -> None:
    row = await turn.session.get(Broadcast, broadcast_id)
    person = turn.identity.person_id
    if row is None or not await access.is_support_admin(turn.session, person, row.support_org_id):
        turn.say(NOT_FOUND, kind="error")
        return
    if row.status != DRAFT:
        turn.say(f"That broadcast has already been {'cancelled' if row.status == 'cancelled' else 'sent'}.")
        return
    if action == "cancel":
        row.status = "cancelled"
        turn.say("Cancelled: nothing was sent.")
        return
    count = await broadcasts.queue(turn.session, row, turn.now, turn.now.date())
    if count == -1:
        turn.say("That broadcast has already been sent.")
    elif count == 0:
        turn.say("There's nobody I can reach in that audience any more, so nothing was sent.")
    else:
        turn.say(
            f"Sending to {_people(count)} now, as fast as the chat platforms allow. I'll tell you how it's "
            "going, and send a delivery report when it's done. Say broadcast status to check."
        )


async def _own_draft(turn: Turn, broadcast_id: Any) -> Broadcast | None:
    """The person's latest draft (the id in the state is checked, never just trusted)."""
    query = select(Broadcast).where(Broadcast.created_by_identity_id == turn.identity.id, Broadcast.status == DRAFT)
    if isinstance(broadcast_id, int):
        query = query.where(Broadcast.id == broadcast_id)
    row = await turn.session.scalar(query.order_by(Broadcast.id.desc()).limit(1))
    if row is None or not await access.is_support_admin(turn.session, turn.identity.person_id, row.support_org_id):
        return None
    return row


async def _broadcast_status(turn: Turn) -> None:
    supports = await access.admin_support_orgs(turn.session, turn.identity.person_id)
    if not supports:
        turn.say(SUPPORT_ONLY)
        return
    rows = (
        await turn.session.scalars(
            select(Broadcast)
            .where(Broadcast.support_org_id.in_([s.id for s in supports]), Broadcast.status != DRAFT)
            .order_by(Broadcast.id.desc())
            .limit(3)
        )
    ).all()
    if not rows:
        turn.say("You haven't sent any broadcasts yet. Say broadcast to write one.")
        return
    for row in rows:
        report = await broadcasts.delivery_report(turn.session, row.id)
        what = await broadcasts.describe(turn.session, row.support_org_id, broadcasts.parse_audience(row.audience))
        sent = row.queued_at.astimezone(UTC).astimezone(turn.bot.tz) if row.queued_at else None
        when = f" ({sent:%-d %b %H:%M})" if sent else ""
        turn.say(broadcasts.format_report(report, what + when, final=report.finished and row.status == "done"))


def _people(count: int) -> str:
    return f"{count:,} {'person' if count == 1 else 'people'}"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
