"""Broadcasts on the staff dashboard over HTTP (issue 18): compose, the preview's counts (people and
organisations reached, and those that can't be), sending (the same outbox rows as `svbot broadcast`,
once, however often the form is sent), the delivery report refreshing itself while anything waits,
past broadcasts, CSRF, and another support organisation's broadcast refused (403)."""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import func, select, update

from svbot.dashboard.models import AuditEntry
from svbot.delivery.models import FAILED, SENT, OutboxMessage
from svbot.models import Identity, Membership, Organisation, Person
from svbot.support import broadcasts as service
from svbot.support.models import Broadcast
from tests import test_dashboard
from tests.test_dashboard import World, csrf, sign_in

world = test_dashboard.world  # the fixture


async def people_in(world: World, names: list[str], chats: int = 2, without_chat: int = 1) -> None:
    """In each named group: `chats` people svbot can write to, and `without_chat` it can't."""
    async with world.app.bot.sessionmaker() as session, session.begin():
        for name in names:
            org_id = await session.scalar(select(Organisation.id).where(Organisation.name == name))
            for n in range(chats + without_chat):
                person = Person(display_name=f"{name} person {n}")
                session.add(person)
                await session.flush()
                session.add(Membership(person_id=person.id, organisation_id=org_id, role="member"))
                if n < chats:
                    user = f"{name}-{n}".replace(" ", "")
                    session.add(Identity(person_id=person.id, platform="telegram", platform_user_id=user, chat_id=user))


async def outbox_rows(world: World, broadcast_id: int | None = None) -> int:
    async with world.app.bot.sessionmaker() as session:
        query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == service.KIND)
        if broadcast_id is not None:
            query = query.where(OutboxMessage.ref == service.ref(broadcast_id))
        return int(await session.scalar(query) or 0)


async def compose(world: World, **fields: str) -> httpx.Response:
    page = await world.http.get("/dashboard/broadcasts")
    assert page.status_code == 200
    return await world.http.post("/dashboard/broadcasts", data={"csrf": csrf(page), **fields})


def broadcast_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text[:800]
    found = re.fullmatch(r"/dashboard/broadcasts/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


async def test_the_preview_counts_what_is_queued_and_sending_twice_queues_once(world: World) -> None:
    # Group 000 and 010 are overdue (every tenth); Group 020 overdue with no one in chat; Group 001 not overdue.
    await people_in(world, ["Group 000", "Group 010", "Group 001"])
    await people_in(world, ["Group 020"], chats=0, without_chat=2)
    await sign_in(world)

    form = await world.http.get("/dashboard/broadcasts")
    assert 'maxlength="3500"' in form.text and "Up to 3,500 characters" in form.text
    assert "Warm Homes" in form.text, "the programmes to choose from"
    assert "No broadcasts sent yet." in form.text

    made = await compose(world, audience="overdue", message="Reports are due: we can help on Tuesday.")
    bid = broadcast_id(made)
    assert await outbox_rows(world) == 0, "a preview sends nothing"
    preview = await world.http.get(f"/dashboard/broadcasts/{bid}")
    assert preview.status_code == 200
    reach = re.sub(r"\s+", " ", re.search(r'<ul class="reach" id="reach">(.*?)</ul>', preview.text, re.S).group(1))
    assert "members with an overdue monitoring report: 4 people in 2 organisations." in reach
    assert "10 organisations in this group can't be reached" in reach, "12 overdue groups, 2 with someone in chat"
    assert "4 people in these organisations can't be reached" in reach, "one each in 000 and 010, two in 020"
    assert "Message from Brighton CVS:\n\nReports are due: we can help on Tuesday." in preview.text
    assert "Send to 4 people" in preview.text

    token = csrf(preview)
    for _ in range(2):  # pressed twice (or the form sent again): one set of rows
        sent = await world.http.post(f"/dashboard/broadcasts/{bid}/send", data={"csrf": token})
        assert sent.status_code == 303 and sent.headers["location"] == f"/dashboard/broadcasts/{bid}"
    assert await outbox_rows(world, bid) == 4
    async with world.app.bot.sessionmaker() as session:
        row = await session.get(Broadcast, bid)
        assert (row.status, row.recipients) == ("queued", 4)
        chats = set(await session.scalars(select(OutboxMessage.chat_id).where(OutboxMessage.ref == service.ref(bid))))
        audits = list(await session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "broadcast_sent")))
    assert chats == {"Group000-0", "Group000-1", "Group010-0", "Group010-1"}
    assert audits == ["members with an overdue monitoring report (4 people)"], "audited once"

    report = await world.http.get(f"/dashboard/broadcasts/{bid}")
    assert '<meta http-equiv="refresh" content="5">' in report.text, "refreshes itself while anything waits"
    assert re.search(r'<span class="big">4</span> waiting to be sent', report.text)
    overview = await world.http.get("/dashboard/")
    assert "Sue sent a broadcast to members with an overdue monitoring report (4 people)" in overview.text

    # The dispatcher delivers three and one fails: the report says so and stops refreshing.
    async with world.app.bot.sessionmaker() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.ref == service.ref(bid)).values(status=SENT))
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == "Group010-1")
            .values(status=FAILED, error="blocked: Forbidden: bot was blocked by the user")
        )
    report = await world.http.get(f"/dashboard/broadcasts/{bid}")
    assert "http-equiv" not in report.text
    assert re.search(r'<span class="big">3</span> delivered', report.text)
    assert re.search(r'<span class="big">1</span> failed', report.text)
    assert "Group 010 person 1, Group 010 (telegram)" in report.text and "they blocked the bot" in report.text

    past = await world.http.get("/dashboard/broadcasts")
    row = re.search(rf'<a href="/dashboard/broadcasts/{bid}">.*?</tr>', past.text, re.S).group(0)
    assert "10 Mar 2027, 10:00" in row and "members with an overdue monitoring report" in row
    assert [int(n) for n in re.findall(r'<td class="n[^"]*">(\d+)</td>', row)] == [3, 0, 1]


async def test_the_audiences_are_the_clis(world: World) -> None:
    await people_in(world, ["Group 001", "Group 002", "Group 003"], chats=1, without_chat=0)
    await sign_in(world)
    async with world.app.bot.sessionmaker() as session:
        group_3 = await session.scalar(select(Organisation.id).where(Organisation.name == "Group 003"))

    expected = {"all": 3, "programme": 2, "org": 1}  # Warm Homes: the odd groups
    for kind, people in expected.items():
        made = await compose(world, audience=kind, programme="warm-homes", org=str(group_3), message="Hello")
        bid = broadcast_id(made)
        preview = await world.http.get(f"/dashboard/broadcasts/{bid}")
        async with world.app.bot.sessionmaker() as session:
            audience = service.parse_audience((await session.get(Broadcast, bid)).audience)
            queued = await service.recipients(session, world.brighton, audience, world.clock.now.date())
        assert len(queued) == people, kind
        word = "person" if people == 1 else "people"
        assert f"Send to {people} {word}" in preview.text, kind

    # "Change it" brings the draft back into the form; "Don't send" drops it.
    form = await world.http.get(f"/dashboard/broadcasts?from={bid}")
    assert 'value="org" checked' in form.text and f'value="{group_3}"' in form.text and ">Hello</textarea>" in form.text
    dropped = await world.http.post(f"/dashboard/broadcasts/{bid}/cancel", data={"csrf": csrf(form)})
    assert dropped.status_code == 303
    again = await world.http.post(f"/dashboard/broadcasts/{bid}/send", data={"csrf": csrf(form)})
    assert again.status_code == 303 and await outbox_rows(world) == 0, "a dropped draft is never sent"


async def test_problems_are_said_and_nothing_is_drafted(world: World) -> None:
    await people_in(world, ["Group 001"], chats=1, without_chat=0)
    await sign_in(world)
    async with world.app.bot.sessionmaker() as session:
        theirs = await session.scalar(select(Organisation.id).where(Organisation.name == "Hastings Lunch Club"))
        nobody = await session.scalar(select(Organisation.id).where(Organisation.name == "Group 005"))
    cases = [
        ({"audience": "all", "message": "   "}, "the message is empty"),
        ({"audience": "all", "message": "x" * 3501}, "3,501 characters"),
        ({"audience": "org", "org": str(theirs), "message": "Hi"}, "isn't one of your member organisations"),
        ({"audience": "org", "org": "", "message": "Hi"}, "type the organisation's number"),
        ({"audience": "org", "org": str(nobody), "message": "Hi"}, "no one in Group 005 can get chat messages"),
        ({"audience": "programme", "programme": "nonsense", "message": "Hi"}, "none of your members has a grant"),
        ({"audience": "everyone", "message": "Hi"}, "choose who it is for"),
    ]
    for fields, said in cases:
        refused = await compose(world, **fields)
        assert refused.status_code == 400, fields
        shown = html.unescape(refused.text)
        assert "Nothing has been sent" in shown and said in shown, (fields, shown[:300])
        assert fields["message"][:50] in refused.text, "what was typed is kept"
    async with world.app.bot.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_no_csrf_token_and_another_support_organisations_broadcast_are_refused(world: World) -> None:
    await people_in(world, ["Group 001"], chats=1, without_chat=0)
    await sign_in(world)
    refused = await world.http.post("/dashboard/broadcasts", data={"audience": "all", "message": "Hi"})
    assert refused.status_code == 403
    bid = broadcast_id(await compose(world, audience="all", message="Hi"))
    refused = await world.http.post(f"/dashboard/broadcasts/{bid}/send", data={"csrf": "wrong"})
    assert refused.status_code == 403 and await outbox_rows(world) == 0

    async with world.app.bot.sessionmaker() as session, session.begin():
        theirs = await service.draft(session, world.hastings, service.Audience("all"), "Theirs")
        theirs_id = theirs.id
    token = csrf(await world.http.get("/dashboard/broadcasts"))
    assert (await world.http.get(f"/dashboard/broadcasts/{theirs_id}")).status_code == 403
    for action in ("send", "cancel"):
        refused = await world.http.post(f"/dashboard/broadcasts/{theirs_id}/{action}", data={"csrf": token})
        assert refused.status_code == 403 and "You can't open that page" in html.unescape(refused.text)
    async with world.app.bot.sessionmaker() as session:
        assert (await session.get(Broadcast, theirs_id)).status == "draft"
    assert "Theirs" not in (await world.http.get("/dashboard/broadcasts")).text
    assert (await world.http.get("/dashboard/broadcasts/99999")).status_code == 403

    world.http.cookies.clear()
    assert (await world.http.get("/dashboard/broadcasts")).status_code == 401
