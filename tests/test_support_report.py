"""The annual social value report: numbers across members' latest statements, evidence strength,
commitments, stories only from shared statements; HTML and Word, each with a PNG bar chart. And
the support commands (create, add-org, invite, broadcast, report) through the real `svbot` CLI."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from svbot.cli import main
from svbot.config import get_settings
from svbot.db import make_engine, make_sessionmaker
from svbot.delivery.models import OutboxMessage
from svbot.evidence import StatementRecord
from svbot.knowledge import load_knowledge
from svbot.models import Identity, Membership, Organisation, Person
from svbot.paths import knowledge_dir
from svbot.statements.model import Commitment, Numbers, ObjectiveEvidence, StatementInput
from svbot.support.invites import redeem
from svbot.support.report import build_report, chart_png, render_docx, render_html

KNOWLEDGE = load_knowledge(knowledge_dir())
PNG = b"\x89PNG\r\n\x1a\n"
SECRET = "A story nobody agreed to share"


def objective(
    objective_id: str,
    *,
    people: int | None = None,
    volunteers: int | None = None,
    hours: float | None = None,
    change: str | None = "People feel more connected.",
    kinds: tuple[str, ...] = (),
    story: str | None = None,
    commitment: tuple[str, date | None] | None = None,
) -> ObjectiveEvidence:
    return ObjectiveEvidence(
        objective_id=objective_id,
        activity="We meet every week.",
        numbers=Numbers(people_reached=people, volunteers=volunteers, volunteer_hours=hours),
        change=change,
        evidence_kinds=list(kinds),
        story=story,
        commitment=Commitment(text=commitment[0], due=commitment[1]) if commitment else Commitment(),
    )


async def add_org(db, name: str, support_id: int | None, kind: str = "member") -> int:  # type: ignore[no-untyped-def]
    async with db() as session, session.begin():
        org = Organisation(name=name, kind=kind, support_org_id=support_id)
        if kind == "support":
            org.framework_id = "local_pledge"
        session.add(org)
        await session.flush()
        return org.id


async def add_statement(  # type: ignore[no-untyped-def]
    db,
    org_id: int,
    objectives: list[ObjectiveEvidence],
    *,
    shared: bool = False,
    period: str = "2026-27",
    framework: str = "local_pledge",
    age_days: int = 0,
) -> None:
    data = StatementInput(org_name="x", framework_id=framework, period=period, objectives=objectives)
    async with db() as session, session.begin():
        record = StatementRecord(
            organisation_id=org_id,
            framework_id=framework,
            period=period,
            data=data.model_dump(mode="json"),
            created_at=datetime(2027, 3, 1, tzinfo=UTC) - timedelta(days=age_days),
        )
        record.shared = shared
        session.add(record)


@pytest.fixture
async def members(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    support = await add_org(db, "Brighton CVS", None, "support")
    other = await add_org(db, "Hastings CVS", None, "support")
    ids = {"support": support, "other": other}
    for name in ("Allotment Friends", "Bike Kitchen", "Coastal Cleanup", "Dance Club"):
        ids[name] = await add_org(db, name, support)
    ids["Elsewhere"] = await add_org(db, "Elsewhere Trust", other)

    a, b, c = ids["Allotment Friends"], ids["Bike Kitchen"], ids["Coastal Cleanup"]
    await add_statement(db, a, [objective("involve_local_people", people=999)], age_days=30)  # superseded
    await add_statement(
        db,
        a,
        [
            objective(
                "involve_local_people",
                people=40,
                volunteers=5,
                hours=120.5,
                kinds=("survey",),
                story="Maureen came for the <b>tomatoes</b> & stayed for the friends.",
                commitment=("Hold two open days", date(2026, 12, 15)),
            ),
            objective("spend_locally", people=10),
        ],
        shared=True,
    )
    await add_statement(
        db,
        b,
        [
            objective(
                "involve_local_people",
                people=60,
                volunteers=3,
                hours=30,
                kinds=("quote",),
                story="Sam fixed his first bike and now teaches others.",
                commitment=("Recruit a volunteer coordinator", None),
            ),
            objective("reduce_inequality", people=25, change=None),
        ],
        shared=True,
    )
    await add_statement(db, b, [objective("care_for_environment", people=5000)], period="2025-26")  # last year
    await add_statement(
        db,
        c,
        [
            objective(
                "care_for_environment",
                people=15,
                volunteers=2,
                hours=10,
                kinds=("external_evaluation",),
                story=SECRET,
                commitment=("Plant 200 trees", date(2027, 3, 31)),
            )
        ],
    )
    await add_statement(db, ids["Dance Club"], [objective("net_zero")], framework="uk_social_value_model")
    await add_statement(db, ids["Elsewhere"], [objective("involve_local_people", people=7, story="OTHER")], shared=True)
    return ids


async def test_the_numbers_across_members_latest_statements(db, members: dict[str, int]) -> None:
    async with db() as session:
        report = await build_report(session, members["support"], "2026-27", KNOWLEDGE, today=date(2027, 4, 20))
    assert report.framework_id == "local_pledge"
    assert report.members == 4
    assert report.organisations == ["Allotment Friends", "Bike Kitchen", "Coastal Cleanup"]
    assert report.missing == ["Dance Club"]  # a statement against another framework
    covered = {row.id: row.organisations for row in report.objectives}
    assert covered == {
        "involve_local_people": 2,
        "local_opportunities": 0,
        "spend_locally": 1,
        "work_in_partnership": 0,
        "reduce_inequality": 1,
        "care_for_environment": 1,
    }
    # Each member once: Allotment Friends gave 40 and 10 people under two objectives, and counts as 40
    # (the same people are often counted twice; summing gave 150 where the members reached at most 115).
    assert (report.people_reached, report.volunteers, report.volunteer_hours) == (115, 10, 160.5)
    involve = report.objectives[0]
    assert (involve.people_reached, involve.volunteers, involve.volunteer_hours) == (100, 8, 150.5)
    # A survey without its result in numbers is partly evidenced (issue 15: an outcome needs a result)
    assert dict(report.strength) == {"evidenced": 1, "partly": 3, "not_yet": 1}
    assert [(c.organisation, c.text, c.due) for c in report.commitments] == [
        ("Allotment Friends", "Hold two open days", date(2026, 12, 15)),
        ("Coastal Cleanup", "Plant 200 trees", date(2027, 3, 31)),
        ("Bike Kitchen", "Recruit a volunteer coordinator", None),
    ]
    assert [(s.organisation, s.objective) for s in report.stories] == [
        ("Allotment Friends", "We involve local people in shaping what we do"),
        ("Bike Kitchen", "We involve local people in shaping what we do"),
    ]
    assert all(SECRET not in s.text and "OTHER" not in s.text for s in report.stories)
    assert report.shared == 2


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.images: list[str] = []
        self.text: list[str] = []
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found.get("src") or "")
            return
        self._open.append(found.get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open and self._open[-1]:
            self.by_id[self._open[-1]] = self.by_id.get(self._open[-1], "") + data


async def test_html_and_word_with_the_chart(db, members: dict[str, int]) -> None:
    async with db() as session:
        report = await build_report(session, members["support"], "2026-27", KNOWLEDGE)
    chart = chart_png(report)
    assert chart.startswith(PNG) and len(chart) > 5000

    html = render_html(report, chart)
    parsed = _Text()
    parsed.feed(html)
    assert (parsed.by_id["people-reached"], parsed.by_id["volunteers"], parsed.by_id["volunteer-hours"]) == (
        "115",
        "10",
        "160.5",
    )
    assert parsed.images[0] == "data:image/png;base64," + base64.b64encode(chart).decode()
    assert "&lt;b&gt;tomatoes&lt;/b&gt; &amp; stayed" in html  # a member's words are text, never markup
    assert SECRET not in html and "OTHER" not in html
    text = " ".join(" ".join(parsed.text).split())
    assert "3 of 4 member organisations described their social value" in text
    assert "cover 4 of the framework's 6 objectives" in text
    assert "Of their 5 claims, 1 evidenced, 3 partly evidenced, 1 not yet evidenced." in text
    assert re.search(r'data-objective="involve_local_people"><td>[^<]+</td><td class="n">2</td>', html)

    document = docx.Document(BytesIO(render_docx(report, chart)))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "Brighton CVS: social value report 2026-27"
    assert "They reached 115 people, with 10 volunteers giving 160.5 hours." in paragraphs
    assert "“Maureen came for the <b>tomatoes</b> & stayed for the friends.”" in paragraphs
    assert not any(SECRET in p for p in paragraphs)
    assert len(document.inline_shapes) == 1
    images = [part for part in document.part.package.parts if part.content_type == "image/png"]
    assert [image.blob for image in images] == [chart]
    rows = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
    assert rows[1] == ["We involve local people in shaping what we do", "2", "100", "8", "150.5"]


async def test_a_report_with_no_statements_yet(db) -> None:
    support = await add_org(db, "New CVS", None, "support")
    await add_org(db, "Only Member", support)
    async with db() as session:
        report = await build_report(session, support, "2026-27", KNOWLEDGE)
    assert report.statements == 0 and report.missing == ["Only Member"]
    assert "No organisation has shared a story" in render_html(report)
    assert chart_png(report).startswith(PNG)


def test_support_commands(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()

    def svbot(*args: str, ok: bool = True) -> str:
        result = runner.invoke(main, list(args))
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    try:
        support = int(svbot("support", "create", "Brighton CVS", "--framework", "local_pledge").strip())
        assert "there is no framework 'nope'" in svbot("support", "create", "X", "--framework", "nope", ok=False)
        member = int(svbot("support", "add-org", "--support-org", str(support), "--name", "Allotment Friends").strip())
        assert "no support organisation with id" in svbot(
            "support", "add-org", "--support-org", str(member), "--name", "Y", ok=False
        )
        assert "Brighton CVS (1 members, framework local_pledge)" in svbot("support", "list")

        code = svbot("invite", "--org", str(member), "--role", "org_admin", "--uses", "2", "--days", "3").splitlines()[
            0
        ]
        assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{6}", code)
        assert "the role must be member or org_admin" in svbot(
            "invite", "--org", str(member), "--role", "support_admin", ok=False
        )
        assert "no organisation with id 999" in svbot("invite", "--org", "999", ok=False)

        async def setup() -> None:
            engine = make_engine(db_url)
            async with make_sessionmaker(engine)() as session, session.begin():
                person = Person(display_name="Ann")
                session.add(person)
                await session.flush()
                session.add(Identity(person_id=person.id, platform="telegram", platform_user_id="1", chat_id="1"))
                await session.flush()
                joined = await redeem(session, code, person.id, datetime.now(UTC))
                assert joined is not None and joined.role == "org_admin"
                again = await redeem(session, code, person.id, datetime.now(UTC))
                assert again is not None and again.already  # already a member: the second use is kept
                assert await redeem(session, code, person.id, datetime.now(UTC) + timedelta(days=4)) is None
            await engine.dispose()

        asyncio.run(setup())
        out = svbot("broadcast", "--to", "all", "--message", "AGM on Thursday")
        assert re.search(r"Broadcast \d+: queued for 1 people \(all members\)", out)
        assert "not an audience" in svbot("broadcast", "--to", "everyone", "--message", "x", ok=False)
        assert "not one of your members" in svbot("broadcast", "--to", "org:999", "--message", "x", ok=False)
        assert "total 1" in svbot("broadcasts", "status", "1")
        assert "pending 1" in svbot("broadcasts", "status", "1")
        assert "no chat platform is set up" in svbot("broadcasts", "send", ok=False)

        svbot("report", "--support-org", str(support), "--period", "2026-27", "--format", "docx", "--out", "r.docx")
        document = docx.Document(str(tmp_path / "r.docx"))
        assert document.paragraphs[0].text == "Brighton CVS: social value report 2026-27"
        assert len(document.inline_shapes) == 1
        html = svbot("report", "--support-org", str(support), "--period", "2026-27", "--out", "-")
        assert "0 of 1 member organisations" in html and "data:image/png;base64," in html
        assert "no support organisation with id" in svbot(
            "report", "--support-org", str(member), "--period", "2026-27", ok=False
        )
    finally:
        get_settings.cache_clear()

    async def count() -> tuple[int, int]:
        engine = make_engine(db_url)
        async with make_sessionmaker(engine)() as session:
            rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
            admins = await session.scalar(select(func.count()).select_from(Membership))
        await engine.dispose()
        return rows or 0, admins or 0

    assert asyncio.run(count()) == (1, 1)
