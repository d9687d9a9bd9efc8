"""The chat side of support organisations: join, invite, switch organisation, members' status,
shared statements and monitoring reports, and composing broadcasts.

Every handler checks the person's role in the database before it reads or writes, and treats ids
in buttons and typed commands as untrusted: an id the person may not use gets the same answer as
an id that does not exist.

Buttons: `sv:use:ORG` (work as this organisation), `sv:org:ORG` (a member's status),
`sv:stmt:STATEMENT` (read a statement), `sv:rep:REPORT` (read a shared monitoring report),
`bc:org:SUPPORT` (which support organisation),
`bc:to:SUPPORT:KIND[:VALUE]` (the audience), `bc:send:ID` / `bc:cancel:ID` (after the preview).
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from svbot.deadlines.service import format_due_list, upcoming_for_org
from svbot.evidence import StatementRecord, latest_statement, send_statement
from svbot.messages import Button
from svbot.models import Organisation
from svbot.support import access, attempts, broadcasts, invites
from svbot.support.models import DRAFT, MEMBER, ORG_ADMIN, SUPPORT_ADMIN, Broadcast
from svbot.text import date_values, text
from svbot.turns import Bot, Turn

log = logging.getLogger(__name__)

DIALOGUE = "broadcast"
MAX_BUTTONS = 24
NOT_FOUND = text("support.not_found")  # English, for tests; turns say text(...) in their locale
SUPPORT_ONLY = text("support.support_only")
ADMINS = (ORG_ADMIN, SUPPORT_ADMIN)
LABEL_LIMIT = 60  # characters on a button: an organisation's or a report's name, cut to fit


def _label(name: str, limit: int = LABEL_LIMIT) -> str:
    """A name for a button: whole if it fits, else cut at a word and ended with "…", never mid-word
    (only a single word longer than the button is cut inside)."""
    name = " ".join(name.split())
    if len(name) <= limit:
        return name
    cut = name[: limit - 1]
    if name[limit - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-–") + "…"


def install(bot: Bot) -> None:
    bot.context_providers.append(_framework_context)

    @bot.intent("join", "join", "/join", takes_args=True, menu=text("support.join.menu"), private=True)
    async def join(turn: Turn) -> None:
        await _join(turn)

    @bot.intent("invite", "invite", "/invite", takes_args=True, menu=text("support.invite.menu"),
                roles=ADMINS, private=True)  # fmt: skip
    async def invite(turn: Turn) -> None:
        await _invite(turn)

    @bot.intent("organisations", "organisations", "my organisations", "orgs", "/orgs", "switch organisation",
                menu=text("support.organisations.menu"), private=True)  # fmt: skip
    async def organisations(turn: Turn) -> None:
        await _organisations(turn)

    @bot.intent("members", "members", "/members", "member status", "our members",
                menu=text("support.members.menu"), roles=ADMINS, private=True)  # fmt: skip
    async def members(turn: Turn) -> None:
        await _members(turn)

    @bot.intent("broadcast", "broadcast", "/broadcast", "send a broadcast", menu=text("support.broadcast.menu"),
                roles=(SUPPORT_ADMIN,), private=True)  # fmt: skip
    async def broadcast(turn: Turn) -> None:
        await _broadcast_start(turn)

    @bot.intent("broadcast_status", "broadcast status", "broadcasts", "/broadcasts", private=True)
    async def broadcast_status(turn: Turn) -> None:
        await _broadcast_status(turn)

    @bot.intent("share", "share statement", "share my statement", "/share", private=True)
    async def share(turn: Turn) -> None:
        await _share(turn, True)

    @bot.intent("unshare", "stop sharing", "unshare statement", "/unshare", private=True)
    async def unshare(turn: Turn) -> None:
        await _share(turn, False)

    @bot.intent(
        "share_report", "share report", "share my report", "share the report", "share monitoring report", private=True
    )
    async def share_report(turn: Turn) -> None:
        await _share_report(turn, True)

    @bot.intent("unshare_report", "stop sharing report", "stop sharing my report", "stop sharing the report",
                "unshare report", "stop sharing reports", private=True)  # fmt: skip
    async def unshare_report(turn: Turn) -> None:
        await _share_report(turn, False)

    bot.payload_handlers["sv"] = _sv_button
    bot.payload_handlers["bc"] = _bc_button
    bot.on_complete[DIALOGUE] = _broadcast_written


# ---- the support organisation's framework, for the social value walk-through ----------------------


async def _framework_context(turn: Turn, context: dict[str, Any]) -> None:
    """Members of a support organisation that chose a framework are not asked to pick one, and people
    who joined an organisation are not asked its name."""
    org_id = turn.conversation.organisation_id
    if org_id is None:
        return
    name, framework = await organisation_facts(turn.connection, org_id)
    context["organisation_name"] = name
    if framework and (turn.bot.knowledge is None or framework in turn.bot.knowledge.frameworks):
        context["support_framework"] = framework


async def organisation_facts(connection: AsyncConnection, organisation_id: int) -> tuple[str | None, str | None]:
    """The organisation's name, and the framework its support organisation chose (or its own, for a
    support organisation), if any. One indexed query on the turn's connection: it runs every turn."""
    member, support = Organisation.__table__.alias("member"), Organisation.__table__.alias("support")
    row = (
        await connection.execute(
            select(member.c.name, member.c.kind, member.c.framework_id, support.c.framework_id)
            .outerjoin(support, support.c.id == member.c.support_org_id)
            .where(member.c.id == organisation_id)
        )
    ).first()
    if row is None:
        return None, None
    name, kind, own, chosen = row
    return name, (own if kind == "support" else chosen)


# ---- joining and inviting ---------------------------------------------------------------------------


async def _join(turn: Turn) -> None:
    code = turn.args.strip()
    command = turn.text.lstrip().startswith("/")  # "/join X", and a Telegram deep link: always a code
    if code and not command and not invites.looks_like_code(code) and turn.state.under_way:
        await turn.bot.converse(turn)  # "join us for lunch" is an answer to the question, not a code
        return
    if not code:
        turn.say(text("support.join.how"))
        return
    person, inbound = turn.identity.person_id, turn.inbound
    limited = await attempts.check(turn.session, person, inbound.platform, inbound.chat_id, turn.now)
    if limited is not None:  # the code is not even looked at: a guesser learns nothing more
        until = limited.until.astimezone(turn.bot.tz)
        turn.say(text("support.join.too_many", time=f"{until:%H:%M}"), kind="error")
        return
    joined = await invites.redeem(turn.session, code, person, turn.now)
    if joined is None:
        await attempts.failed(turn.session, code, person, turn.now)
        turn.say(text("support.join.bad_code"), kind="error")
        return
    turn.conversation.organisation_id = joined.organisation_id
    await turn.refresh_context()
    said = {"role": _role_with_article(joined.role), "organisation": joined.organisation_name}
    if joined.already:
        turn.say(text("support.join.already", **said))
        return
    if turn.state.under_way:  # they joined mid walk-through: carry on where they were
        turn.say(text("support.join.welcome_carry_on", **said))
        turn.apply(turn.bot.engine.resume(turn.state, turn.context(), turn.now))
        return
    turn.say(text("support.join.welcome", **said, next_steps=_next_steps(joined.role)))


_INVITE_WORDS = {"admin", "admins", "org_admin", "support_admin", "member"}


def _next_steps(role: str) -> str:
    if role == SUPPORT_ADMIN:
        return text("support.join.next_steps.support_admin")
    return text("support.join.next_steps.member")


def _role_with_article(role: str) -> str:
    """The role as in "You're now a member of ..." ("a member", "an admin")."""
    return text("support.role_with_article.admin" if role in ADMINS else "support.role_with_article.member")


async def _invite(turn: Turn) -> None:
    """`invite`, `invite admin`, `invite 12`, `invite 12 admin`: a join code for the organisation."""
    words = turn.args.lower().split()
    if any(not (w.isdigit() or w in _INVITE_WORDS) for w in words) and turn.state.under_way:
        await turn.bot.converse(turn)  # "invite friends to lunch" answers the question
        return
    org_id = next((int(w) for w in words if w.isdigit()), turn.conversation.organisation_id)
    if org_id is None:
        turn.say(text("support.invite.which"))
        return
    organisation = await turn.session.get(Organisation, org_id)
    wants_admin = any(w in _INVITE_WORDS - {"member"} for w in words)
    role = MEMBER
    if wants_admin and organisation is not None:
        role = SUPPORT_ADMIN if organisation.kind == "support" else ORG_ADMIN
    if organisation is None or not await access.can_invite(turn.session, turn.identity.person_id, org_id, role):
        turn.say(text("support.invite.refused"), kind="error")
        return
    made = await invites.create_invite(
        turn.session, org_id, turn.now, role=role, created_by_person_id=turn.identity.person_id
    )
    until = text("dates.long", **date_values(made.expires_at.astimezone(turn.bot.tz).date()))
    turn.say(
        text(
            "support.invite.code",
            role=_role_with_article(role),
            organisation=made.organisation_name,
            until=until,
            code=made.code,
        )
    )


# ---- which organisation -------------------------------------------------------------------------------


async def _organisations(turn: Turn) -> None:
    mine = await access.organisations_of(turn.session, turn.identity.person_id)
    if not mine:
        turn.say(text("support.organisations.none"))
        return
    current = turn.conversation.organisation_id
    lines = [
        text(
            "support.organisations.line_current" if o.id == current else "support.organisations.line",
            organisation=o.name,
            role=_role_name(role),
        )
        for o, role in mine
    ]
    buttons = tuple(Button(_label(o.name), f"sv:use:{o.id}") for o, _ in mine[:MAX_BUTTONS] if o.id != current)
    turn.say(text("support.organisations.list", lines="\n".join(lines)), buttons=buttons)


def _role_name(role: str) -> str:
    if role == MEMBER:
        return text("support.role.member")
    if role == ORG_ADMIN:
        return text("support.role.admin")
    if role == SUPPORT_ADMIN:
        return text("support.role.support_admin")
    return role


async def _sv_button(turn: Turn) -> None:
    action, _, raw_id = (turn.inbound.payload or "").partition(":")[2].partition(":")
    if not raw_id.isdigit():
        turn.say(text("support.not_found"), kind="error")
        return
    target = int(raw_id)
    person = turn.identity.person_id
    if action == "use":
        if await access.role_in(turn.session, person, target) is None:
            turn.say(text("support.not_found"), kind="error")
            return
        organisation = await turn.session.get(Organisation, target)
        turn.conversation.organisation_id = target
        await turn.refresh_context()
        name = organisation.name if organisation else text("support.organisations.that_organisation")
        turn.say(text("support.organisations.switched", organisation=name))
    elif action == "org":
        await _member_detail(turn, target)
    elif action == "stmt":
        record = await access.visible_statement(turn.session, person, target)
        if record is None:
            turn.say(text("support.not_found"), kind="error")
            return
        send_statement(turn, record, text("support.statement.heading", organisation=record.data.get("org_name") or ""))
    elif action == "rep":
        from svbot.monitoring import send_shared_report

        report = await access.visible_report(turn.session, person, target)
        if report is None:  # not shared (yet), not one of theirs, or no such report: the same kind answer
            turn.say(text("support.not_found"), kind="error")
            return
        await send_shared_report(turn, report)
    else:
        turn.say(text("support.not_found"), kind="error")


# ---- what a support admin sees -----------------------------------------------------------------------


async def _members(turn: Turn) -> None:
    supports = await access.admin_support_orgs(turn.session, turn.identity.person_id)
    if not supports:
        turn.say(text("support.support_only"))
        return
    today = turn.now.date()
    for support in supports:
        statuses = await access.member_statuses(turn.session, turn.identity.person_id, support.id, today)
        if not statuses:
            turn.say(text("support.members.none", support=support.name))
            continue
        late = sum(1 for s in statuses if s.overdue)
        lines = [
            text(
                "support.members.line",
                organisation=s.name,
                overdue=(
                    text("support.members.overdue", count=s.overdue)
                    if s.overdue
                    else text("support.members.nothing_overdue")
                ),
                due_soon=text("support.members.due_soon", count=s.due_soon) if s.due_soon else "",
                reports=_report_progress(s),
                shared=text("support.members.shared") if s.shared_statement_id else "",
            )
            for s in statuses
        ]
        buttons = tuple(Button(_label(s.name), f"sv:org:{s.organisation_id}") for s in statuses[:MAX_BUTTONS])
        summary = text(
            "support.members.summary",
            support=support.name,
            members=text("support.members.count", count=len(statuses)),
            late=late,
            lines="\n".join(lines),
        )
        turn.say(summary, buttons=buttons)


def _report_progress(status: access.MemberStatus) -> str:
    """The "; reports: 1 submitted, 1 drafted, 2 not started" part (only the counts there are), or nothing."""
    counts = []
    if status.submitted:
        counts.append(text("support.members.report_submitted", count=status.submitted))
    if status.drafted:
        counts.append(text("support.members.report_drafted", count=status.drafted))
    if status.not_started:
        counts.append(text("support.members.report_not_started", count=status.not_started))
    return text("support.members.reports", counts=", ".join(counts)) if counts else ""


async def _member_detail(turn: Turn, organisation_id: int) -> None:
    organisation = await access.supporting_admin(turn.session, turn.identity.person_id, organisation_id)
    if organisation is None:
        turn.say(text("support.not_found"), kind="error")
        return
    items = await upcoming_for_org(turn.session, organisation.id, turn.now.date())
    said = text(
        "support.member.deadlines", organisation=organisation.name, due_list=format_due_list(items, turn.now.date())
    )
    shared = await access.latest_shared_statement(turn.session, organisation.id)
    buttons: list[Button] = []
    if shared is not None:
        buttons.append(Button(text("support.member.read_statement"), f"sv:stmt:{shared.id}"))
    else:
        said += "\n" + text("support.member.not_shared")
    reports = await access.shared_reports(turn.session, organisation.id)
    if reports:
        titles = await _deadline_titles(turn, [r.deadline_id for r in reports])
        buttons.extend(
            Button(_label(text("support.member.read_report", report=titles.get(r.deadline_id, ""))), f"sv:rep:{r.id}")
            for r in reports[: MAX_BUTTONS - 1]
        )
    else:
        said += "\n" + text("support.member.report_not_shared")
    turn.say(said, buttons=tuple(buttons))


async def _deadline_titles(turn: Turn, deadline_ids: list[int]) -> dict[int, str]:
    from svbot.deadlines.models import Deadline

    rows = await turn.session.execute(select(Deadline.id, Deadline.title).where(Deadline.id.in_(deadline_ids)))
    return {deadline_id: title for deadline_id, title in rows.all()}


async def _share(turn: Turn, shared: bool) -> None:
    org_id = turn.conversation.organisation_id
    if org_id is None or await access.role_in(turn.session, turn.identity.person_id, org_id) != ORG_ADMIN:
        turn.say(text("support.share.admin_only"))
        return
    record = await latest_statement(turn.session, org_id)
    if record is None:
        turn.say(text("support.share.none"))
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
        turn.say(text("support.share.shared"))
    else:
        turn.say(text("support.share.unshared"))


async def _share_report(turn: Turn, shared: bool) -> None:
    """`share report`: the organisation's latest monitoring report becomes readable by its support
    organisation's admins. `stop sharing report`: none of its reports is, any more."""
    from svbot.monitoring import MonitoringReport, latest_report

    org_id = turn.conversation.organisation_id
    person = turn.identity.person_id
    if org_id is None:  # not chosen in this chat: their organisation, when they have just one
        mine = await access.organisations_of(turn.session, person)
        if len(mine) == 1:
            org_id = turn.conversation.organisation_id = mine[0][0].id
    if org_id is None or not await access.can_share_report(turn.session, person, org_id):
        turn.say(text("monitoring.share.members_only"))
        return
    if not shared:
        await turn.session.execute(
            update(MonitoringReport)
            .where(MonitoringReport.organisation_id == org_id)
            .values(shared=False)
            .execution_options(synchronize_session=False)
        )
        turn.say(text("monitoring.share.unshared"))
        return
    row = await latest_report(turn.session, org_id)
    titles = await _deadline_titles(turn, [row.deadline_id]) if row is not None else {}
    if row is None or row.deadline_id not in titles:
        turn.say(text("monitoring.share.none"))
        return
    row.shared = True
    turn.say(text("monitoring.share.shared", report=titles[row.deadline_id].lower()))


# ---- broadcasts ------------------------------------------------------------------------------------------


async def _broadcast_start(turn: Turn) -> None:
    supports = await access.admin_support_orgs(turn.session, turn.identity.person_id)
    if not supports:
        turn.say(text("support.support_only"))
        return
    current = next((s for s in supports if s.id == turn.conversation.organisation_id), None)
    if current is None and len(supports) > 1:
        buttons = tuple(Button(_label(s.name), f"bc:org:{s.id}") for s in supports[:MAX_BUTTONS])
        turn.say(text("support.broadcast.from_which"), buttons=buttons)
        return
    await _ask_audience(turn, current or supports[0])


async def _ask_audience(turn: Turn, support: Organisation) -> None:
    sid = support.id
    buttons = [
        Button(text("support.broadcast.all_button"), f"bc:to:{sid}:all"),
        Button(text("support.broadcast.overdue_button"), f"bc:to:{sid}:overdue"),
        Button(text("support.broadcast.programme_button"), f"bc:to:{sid}:programme"),
        Button(text("support.broadcast.organisation_button"), f"bc:to:{sid}:org"),
    ]
    turn.say(text("support.broadcast.who_for", support=support.name), buttons=tuple(buttons))


async def _bc_button(turn: Turn) -> None:
    parts = (turn.inbound.payload or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if len(parts) < 3 or not parts[2].isdigit():
        turn.say(text("support.not_found"), kind="error")
        return
    target = int(parts[2])
    if action in ("send", "cancel"):
        await _bc_decide(turn, target, action)
        return
    if not await access.is_support_admin(turn.session, turn.identity.person_id, target):
        turn.say(text("support.support_only"), kind="error")
        return
    support = await turn.session.get(Organisation, target)
    assert support is not None
    if action == "org":
        await _ask_audience(turn, support)
    elif action == "to":
        await _bc_audience(turn, support, parts[3:])
    else:
        turn.say(text("support.not_found"), kind="error")


async def _bc_audience(turn: Turn, support: Organisation, rest: list[str]) -> None:
    kind = rest[0] if rest else ""
    value = ":".join(rest[1:]) or None
    session, sid = turn.session, support.id
    if kind == "programme" and value is None:
        found = await broadcasts.programmes(session, sid)
        if not found:
            turn.say(text("support.broadcast.no_programmes"))
            return
        buttons = tuple(Button(_label(title), f"bc:to:{sid}:programme:{code}") for code, title in found[:MAX_BUTTONS])
        turn.say(text("support.broadcast.which_programme"), buttons=buttons)
        return
    if kind == "org" and value is None:
        members = await access.member_orgs(session, sid)
        if not members:
            turn.say(text("support.broadcast.no_members", support=support.name))
            return
        buttons = tuple(Button(_label(o.name), f"bc:to:{sid}:org:{o.id}") for o in members[:MAX_BUTTONS])
        many = len(members) > MAX_BUTTONS
        turn.say(
            text("support.broadcast.which_organisation_first_few" if many else "support.broadcast.which_organisation"),
            buttons=buttons,
        )
        return
    try:
        audience = broadcasts.parse_audience(kind if value is None else f"{kind}:{value}")
        people = await broadcasts.recipients(session, sid, audience, turn.now.date())
    except broadcasts.BroadcastError:
        turn.say(text("support.not_found"), kind="error")
        return
    if not people:
        what = await broadcasts.describe(session, sid, audience)
        turn.say(text("support.broadcast.nobody", audience=what))
        return
    draft = await broadcasts.draft(session, sid, audience, by_identity_id=turn.identity.id, now=turn.now)
    what = await broadcasts.describe(session, sid, audience)
    turn.start_dialogue(DIALOGUE, intro=text("support.broadcast.intro", audience=what, people=_people(len(people))))
    turn.state.answers["broadcast_id"] = draft.id


async def _broadcast_written(turn: Turn) -> None:
    """The dialogue is finished: store the text and show the preview with Send and Cancel."""
    draft = await _own_draft(turn, turn.state.answers.get("broadcast_id"))
    if draft is None:
        turn.say(text("support.broadcast.lost"), kind="error")
        return
    try:
        draft.message = broadcasts.check_message(str(turn.state.answers.get("message") or ""))
    except broadcasts.BroadcastError as exc:
        turn.say(text("support.broadcast.problem", problem=str(exc)), kind="error")
        return
    support = await turn.session.get(Organisation, draft.support_org_id)
    audience = broadcasts.parse_audience(draft.audience)
    people = await broadcasts.recipients(turn.session, draft.support_org_id, audience, turn.now.date())
    orgs = len({p.organisation_id for p in people})
    what = await broadcasts.describe(turn.session, draft.support_org_id, audience)
    turn.say(text("support.broadcast.preview"))
    turn.say(broadcasts.broadcast_message(support.name if support else "", draft.message).text)
    turn.say(
        text(
            "support.broadcast.goes_to",
            people=_people(len(people)),
            organisations=text("common.organisations", count=orgs),
            audience=what,
        ),
        buttons=(
            Button(text("support.broadcast.send_button"), f"bc:send:{draft.id}", style="primary"),
            Button(text("support.broadcast.cancel_button"), f"bc:cancel:{draft.id}", style="danger"),
        ),
    )


async def _bc_decide(turn: Turn, broadcast_id: int, action: str) -> None:
    row = await turn.session.get(Broadcast, broadcast_id)
    person = turn.identity.person_id
    if row is None or not await access.is_support_admin(turn.session, person, row.support_org_id):
        turn.say(text("support.not_found"), kind="error")
        return
    if row.status != DRAFT:
        cancelled = row.status == "cancelled"
        turn.say(text("support.broadcast.already_cancelled" if cancelled else "support.broadcast.already_sent"))
        return
    if action == "cancel":
        row.status = "cancelled"
        turn.say(text("support.broadcast.cancelled"))
        return
    count = await broadcasts.queue(turn.session, row, turn.now, turn.now.date())
    if count == -1:
        turn.say(text("support.broadcast.already_sent"))
    elif count == 0:
        turn.say(text("support.broadcast.nobody_now"))
    else:
        turn.say(text("support.broadcast.sending", people=_people(count)))


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
        turn.say(text("support.support_only"))
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
        turn.say(text("support.broadcast.none_sent"))
        return
    for row in rows:
        report = await broadcasts.delivery_report(turn.session, row.id)
        what = await broadcasts.describe(turn.session, row.support_org_id, broadcasts.parse_audience(row.audience))
        if row.queued_at:
            sent = row.queued_at.astimezone(UTC).astimezone(turn.bot.tz)
            what = text("support.broadcast.sent_on", audience=what, **date_values(sent.date()), time=f"{sent:%H:%M}")
        turn.say(broadcasts.format_report(report, what, final=report.finished and row.status == "done"))


def _people(count: int) -> str:
    return text("common.people", count=count)
