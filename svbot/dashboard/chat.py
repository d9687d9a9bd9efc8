"""`dashboard` in chat: a support admin gets a single-use sign-in link to the staff dashboard (valid
for 15 minutes), in their private chat. Anyone else is told who can use it."""

from __future__ import annotations

from sqlalchemy import select

from svbot.dashboard import auth
from svbot.models import Membership, Organisation
from svbot.support.models import SUPPORT_ADMIN
from svbot.text import text
from svbot.turns import Bot, Turn


def install(bot: Bot) -> None:
    @bot.intent("dashboard", "dashboard", "/dashboard", "dashboard link", "sign in", private=True,
                menu=text("dashboard.chat.menu"), roles=(SUPPORT_ADMIN,))  # fmt: skip
    async def dashboard(turn: Turn) -> None:
        await _link(turn)


async def _link(turn: Turn) -> None:
    settings = turn.bot.settings
    session = turn.session
    support_ids = list(
        await session.scalars(
            select(Membership.organisation_id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(
                Membership.person_id == turn.identity.person_id,
                Membership.role == SUPPORT_ADMIN,
                Organisation.kind == "support",
            )  # fmt: skip
            .order_by(Membership.organisation_id)
        )
    )
    if not support_ids or settings is None:
        turn.say(text("dashboard.chat.staff_only"))
        return
    try:
        await auth.secret_key(session, settings)
    except auth.SecretKeyMissing:
        turn.say(text("dashboard.chat.no_key"), kind="error")
        return
    # The organisation they are working as, if it is one of theirs; else their first.
    wanted = turn.conversation.organisation_id
    support_org_id = wanted if wanted in support_ids else support_ids[0]
    link = await auth.make_link(session, settings, support_org_id, turn.identity.person_id, turn.now)
    turn.say(text("dashboard.chat.link", link=link, minutes=auth.LINK_MINUTES), private=True)
