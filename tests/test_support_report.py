"""The annual social value report (issue 19): the year's statements and monitoring reports, each
organisation's figures counted once, privacy (nothing unshared in any format), every section with
known inputs, the Word file (A4, en-GB, repeated header rows, page numbers, alt text, properties) and
the charts. And the support commands (create, add-org, invite, broadcast, report) through the real
`svbot` CLI."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import docx
import pytest
from click.testing import CliRunner
from docx.shared import Cm
from sqlalchemy import func, select

from svbot.cli import main
from svbot.config import get_settings
from svbot.db import make_engine, make_sessionmaker
from svbot.deadlines.models import SUBMITTED, UPCOMING, WAIVED, Deadline, Grant, Programme
from svbot.delivery.models import OutboxMessage
from svbot.evidence import StatementRecord
from svbot.knowledge import load_knowledge
from svbot.models import Identity, Membership, Organisation, Person
from svbot.monitoring import MonitoringReport
from svbot.paths import knowledge_dir
from svbot.statements.model import Commitment, Numbers, ObjectiveEvidence, StatementInput
from svbot.support.invites import redeem
from svbot.support.report import (
    AnnualReport,
    BarChart,
    ObjectiveRow,
    bar_svg,
    build_report,
    chart_png,
    render_docx,
    render_html,
    report_year,
)

KNOWLEDGE = load_knowledge(knowledge_dir())
PNG = b"\x89PNG\r\n\x1a\n"
DOT = bytes.fromhex(  # a 1x1 PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a2d0f1a70000000049454e44ae426082"
)
TODAY = date(2027, 4, 20)
INVOLVE = "We involve local people in shaping what we do"
# Words of a member that did not share its statement: none may appear in any format.
UNSHARED = {
    "org_what": "SECRET-WHAT runs a food bank",
    "activity": "SECRET-ACTIVITY weekly drop-in",
    "over_and_above": "SECRET-OVER unpaid evenings",
    "change": "SECRET-CHANGE people eat better",
    "evidence_detail": "SECRET-DETAIL our survey of 12",
    "story": "SECRET-STORY Jo found a home",
    "commitment": "SECRET-COMMITMENT open a second site",
    "measure": "SECRET-MEASURE visits counted",
    "own_group": "SECRET-GROUP night-shift workers",
    "reworded": "SECRET-REWORDED our own paragraph",
    "last_commitment": "SECRET-LAST-YEAR start a choir",
    "monitoring_counts": "SECRET-COUNTS 4 over 80",
    "monitoring_activities": "SECRET-ACTIVITIES a quiet quarter",
}


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
    **extra: Any,
) -> ObjectiveEvidence:
    return ObjectiveEvidence(
        objective_id=objective_id,
        activity=extra.pop("activity", "We meet every week."),
        numbers=Numbers(people_reached=people, volunteers=volunteers, volunteer_hours=hours),
        change=change,
        evidence_kinds=list(kinds),
        story=story,
        commitment=Commitment(text=commitment[0], due=commitment[1]) if commitment else Commitment(),
        **extra,
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
    **fields: Any,
) -> None:
    data = StatementInput(org_name="x", framework_id=framework, period=period, objectives=objectives, **fields)
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


def whole(people: int, volunteers: int, hours: float, **qualifiers: str) -> Numbers:
    return Numbers(people_reached=people, volunteers=volunteers, volunteer_hours=hours, qualifiers=qualifiers)


@pytest.fixture
async def members(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Four members in the year with 485 people, 33 volunteers and 5,556 hours between them (the
    issue's example; two shared their statements, two did not), one whose figures end after the year,
    one against another framework, and a member of another support organisation. Summing per
    objective would give 8,672 people (670 + 160 + 7,817 + 25)."""
    support = await add_org(db, "Brighton CVS", None, "support")
    other = await add_org(db, "Hastings CVS", None, "support")
    ids = {"support": support, "other": other}
    for name in ("Allotment Friends", "Bike Kitchen", "Coastal Cleanup", "Dance Club", "Dune Walkers", "Early Birds"):
        ids[name] = await add_org(db, name, support)
    ids["Elsewhere"] = await add_org(db, "Elsewhere Trust", other)
    a, b, c = ids["Allotment Friends"], ids["Bike Kitchen"], ids["Coastal Cleanup"]

    # Allotment Friends: organisation-wide figures, three objectives; an older statement superseded, and
    # last year's (its figures end on 31 March 2026).
    await add_statement(db, a, [objective("involve_local_people", people=999)], age_days=30)
    await add_statement(
        db,
        a,
        [objective("involve_local_people", people=200, commitment=("Open a community fridge", date(2026, 6, 1)))],
        shared=True,
        period="2025-26",
        numbers=whole(200, 10, 3000),
        figures_to=date(2026, 3, 31),
        age_days=60,
    )
    # Last year's statements of the others: Bike Kitchen's commitment not followed up yet, Coastal Cleanup's unshared.
    await add_statement(
        db,
        b,
        [objective("involve_local_people", people=40, volunteers=2, hours=100, commitment=("Fix 100 bikes", None))],
        shared=True,
        period="2025-26",
        age_days=400,
    )
    await add_statement(
        db,
        c,
        [objective("care_for_environment", commitment=(UNSHARED["last_commitment"], None))],
        period="2025-26",
        numbers=whole(20, 1, 10),
        age_days=400,
    )
    await add_statement(
        db,
        a,
        [
            objective(
                "involve_local_people",
                people=300,
                volunteers=20,
                hours=4000,
                kinds=("survey",),
                story="Maureen came for the <b>tomatoes</b> & stayed for the friends.",
                commitment=("Hold two open days", date(2027, 9, 15)),
            ),
            objective("spend_locally", people=250, commitment=("hold two open days ", date(2027, 9, 15))),
            objective("reduce_inequality", people=120, volunteers=5),
        ],
        shared=True,
        numbers=whole(300, 20, 4000),
        who_benefits=["people_on_low_incomes"],
        equality_groups=["age", "disability"],
        figures_from=date(2026, 4, 1),
        figures_to=date(2027, 3, 31),
    )
    # Bike Kitchen: an older statement with figures only per objective (the largest of each counts),
    # made in the next year's period but for figures ending within this one.
    await add_statement(
        db,
        b,
        [
            objective(
                "involve_local_people",
                people=100,
                volunteers=8,
                hours=1200,
                kinds=("quote",),
                story='"Sam fixed his first bike and now teaches others."',
                commitment=("Recruit a volunteer coordinator", None),
                equality_groups=["age"],
            ),
            objective("care_for_environment", people=60, volunteers=8, hours=1500),
        ],
        shared=True,
        period="2027-28",
        figures_to=date(2027, 2, 28),
    )
    # Coastal Cleanup and Dune Walkers did not share: counted in the totals only; none of their words anywhere.
    await add_statement(
        db,
        c,
        [
            objective(
                "involve_local_people",
                people=7777,
                volunteers=5,
                hours=56,
                kinds=("external_evaluation",),
                activity=UNSHARED["activity"],
                over_and_above=UNSHARED["over_and_above"],
                change=UNSHARED["change"],
                evidence_detail=UNSHARED["evidence_detail"],
                story=UNSHARED["story"],
                beneficiaries=[UNSHARED["own_group"]],
                equality_groups=["race", UNSHARED["own_group"]],
                commitment=(UNSHARED["commitment"], date(2027, 6, 30)),
            ),
            objective("care_for_environment", people=40),
        ],
        numbers=whole(60, 3, 40),
        org_what=UNSHARED["org_what"],
        reworded={"involve_local_people": UNSHARED["reworded"]},
        figures_to=date(2027, 3, 31),
    )
    await add_statement(
        db, ids["Dune Walkers"], [objective("involve_local_people", people=25)], numbers=whole(25, 2, 16)
    )
    # Early Birds: made for 2026-27 but its figures run to June 2027, so it belongs to next year's report.
    await add_statement(
        db, ids["Early Birds"], [objective("involve_local_people", people=5000)], figures_to=date(2027, 6, 30)
    )
    await add_statement(db, ids["Dance Club"], [objective("net_zero")], framework="uk_social_value_model")
    await add_statement(db, ids["Elsewhere"], [objective("involve_local_people", people=7, story="OTHER")], shared=True)
    return ids


@pytest.fixture
async def records(db, members: dict[str, int]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Monitoring deadlines of the year, and a programme with its social value weighting and grants."""
    a, b, c = members["Allotment Friends"], members["Bike Kitchen"], members["Coastal Cleanup"]
    at = lambda day: datetime(day.year, day.month, day.day, 12, tzinfo=UTC)  # noqa: E731
    async with db() as session, session.begin():
        grants = {}
        for n, (org, programme, amount, awarded) in enumerate(
            [
                (a, "Community Chest", "5000", date(2026, 5, 1)),
                (b, "community chest", "2500", date(2027, 1, 10)),
                (c, "Community Chest", "9000", date(2026, 3, 1)),  # awarded last year
            ]
        ):
            grant = Grant(
                external_id=f"360G-test-{n}",
                organisation_id=org,
                support_org_id=members["support"],
                programme=programme,
                amount_awarded=Decimal(amount),
                award_date=awarded,
            )
            session.add(grant)
            await session.flush()
            grants[org] = grant.id
        session.add(
            Programme(
                support_org_id=members["support"],
                code="CC",
                title="Community Chest",
                social_value_weighting=Decimal(10),
            )
        )
        session.add(Programme(support_org_id=members["support"], code="WH", title="Warm Homes",
                              social_value_scored=True))  # fmt: skip
        rows = [
            # org, period end, due, extended from, status, sent
            (a, date(2026, 6, 30), date(2026, 7, 30), None, SUBMITTED, date(2026, 7, 20)),  # on time
            (a, date(2026, 9, 30), date(2026, 11, 15), date(2026, 10, 30), SUBMITTED, date(2026, 11, 10)),  # extended
            (a, date(2026, 12, 31), date(2027, 1, 30), None, SUBMITTED, date(2027, 2, 10)),  # late
            (b, date(2027, 3, 31), date(2027, 4, 15), None, UPCOMING, None),  # overdue, not sent
            (b, date(2026, 12, 31), date(2027, 1, 30), None, WAIVED, None),  # waived: left out
            (c, date(2027, 3, 31), date(2027, 4, 30), None, UPCOMING, None),  # not due yet
            (c, date(2027, 6, 30), date(2027, 7, 30), None, UPCOMING, None),  # next year
        ]
        deadlines = []
        for n, (org, end, due, extended, status, sent) in enumerate(rows):
            deadlines.append(
                Deadline(
                    grant_id=grants[org],
                    organisation_id=org,
                    key=f"quarterly:{n}",
                    title=f"Quarterly monitoring report ({n})",
                    period_start=end - timedelta(days=90),
                    period_end=end,
                    due_date=due,
                    extended_from=extended,
                    status=status,
                    status_at=at(sent) if sent else None,
                )
            )
        session.add_all(deadlines)
        await session.flush()
        # The three reports Allotment Friends sent: the first and last shared, the middle one not.
        for deadline, shared, answers in [
            (deadlines[0], True, {"equality": "yes", "equality_counts": "Age: 12 under 25, 8 over 65.",
                                  "activities": "We planned the fridge."}),
            (deadlines[1], False, {"equality": "yes", "equality_counts": UNSHARED["monitoring_counts"],
                                   "activities": UNSHARED["monitoring_activities"]}),
            (deadlines[2], True, {"equality": "no", "activities": "The community fridge opened in  May."}),
        ]:  # fmt: skip
            session.add(
                MonitoringReport(
                    deadline_id=deadline.id,
                    organisation_id=deadline.organisation_id,
                    answers={"answers": answers, "skipped": []},
                    status="submitted",
                    shared=shared,
                )
            )
    return members


async def test_each_organisation_is_counted_once_in_the_year(db, members: dict[str, int]) -> None:
    async with db() as session:
        report = await build_report(session, members["support"], "2026-27", KNOWLEDGE, today=TODAY)
    assert report.framework_id == "local_pledge"
    assert report.year is not None and (report.year.start, report.year.end) == (date(2026, 4, 1), date(2027, 3, 31))
    assert report.members == 6
    assert report.organisations == ["Allotment Friends", "Bike Kitchen", "Coastal Cleanup", "Dune Walkers"]
    assert report.missing == ["Dance Club", "Early Birds"]
    assert (report.shared, report.others, report.left_out) == (2, 2, 0)
    # 300 + 100 (the largest of Bike Kitchen's) + 60 + 25; 20 + 8 + 3 + 2; 4,000 + 1,500 + 40 + 16
    assert (report.people_reached, report.volunteers, report.volunteer_hours) == (485, 33, 5556)
    assert report.estimated == set()
    rows = {
        row.id: (row.organisations, row.people_reached, row.volunteers, row.volunteer_hours)
        for row in report.objectives
    }
    assert rows == {  # shared statements only; an organisation under each of its objectives
        "involve_local_people": (2, 400, 28, 5200),
        "local_opportunities": (0, 0, 0, 0),
        "spend_locally": (1, 250, 0, 0),
        "work_in_partnership": (0, 0, 0, 0),
        "reduce_inequality": (1, 120, 5, 0),
        "care_for_environment": (1, 60, 8, 1500),
    }
    assert report.objectives[0].names == ["Allotment Friends", "Bike Kitchen"]
    # Strengths are anonymous counts over every included statement (the unshared ones' three as well).
    assert sum(report.strength.values()) == 8
    assert report.previous is not None
    # Last year: 200 + 40 people, 10 + 2 volunteers, 3,000 + 100 hours; the one member that did not
    # share is left out (its figures would be the total less the others').
    assert (report.previous.label, report.previous.statements, report.previous.people_reached) == ("2025-26", 3, 240)
    assert (report.previous.volunteers, report.previous.volunteer_hours, report.previous.left_out) == (12, 3100, 1)

    html = render_html(report)
    parsed = _Text()
    parsed.feed(html)
    assert [parsed.by_id[k] for k in ("statements", "people-reached", "volunteers", "volunteer-hours")] == [
        "4",
        "485",
        "33",
        "5,556",
    ]
    text = " ".join(" ".join(parsed.text).split())
    assert "4 of 6 member organisations described their social value" in text
    assert "Between them they reached 485 people, with 33 volunteers giving 5,556 hours" in text
    assert "2 other members took part without sharing their statements: they are counted in these totals only." in text
    assert "Last year 1 member did not share its statement; its figures are left out." in text
    assert "The 2 members that shared their statements cover 4 of the framework's 6 objectives." in text
    assert "each organisation is counted once in the totals" in text
    assert re.search(
        r'data-objective="involve_local_people"><td>[^<]+</td><td class="n">2</td><td class="n">400<', html
    )
    assert re.search(r'<tr><td>People reached</td><td class="n">485</td><td class="n">240</td></tr>', html)

    document = docx.Document(BytesIO(render_docx(report)))
    table = [[cell.text for cell in row.cells] for row in document.tables[1].rows]
    assert table[1] == [INVOLVE, "2", "400", "28", "5,200"]
    assert table[-1] == ["All members, each counted once", "4", "485", "33", "5,556"]
    assert [[c.text for c in row.cells] for row in document.tables[0].rows][2] == ["People reached", "485", "240"]


async def test_the_year_and_estimates(db) -> None:
    assert (report_year("2026-27").start, report_year("2026/2027").end) == (date(2026, 4, 1), date(2027, 3, 31))
    assert (report_year("2026", start_month=1).label, report_year("2026", start_month=1).end) == (
        "2026",
        date(2026, 12, 31),
    )
    for wrong in ("26-27", "2026-28", "next year"):
        with pytest.raises(ValueError, match="write it like 2026-27"):
            report_year(wrong)
    support = await add_org(db, "Lewes CVS", None, "support")
    one, two = await add_org(db, "One", support), await add_org(db, "Two", support)
    await add_statement(
        db, one, [objective("involve_local_people")], numbers=whole(40, 2, 100, volunteer_hours="about")
    )
    await add_statement(db, two, [objective("involve_local_people")], numbers=whole(60, 3, 50), shared=True)
    async with db() as session:
        alone = await build_report(session, support, "2026-27", KNOWLEDGE, today=TODAY)
    # One member that did not share: its figures would be the total less the others', so they are left out.
    assert (alone.people_reached, alone.volunteer_hours, alone.estimated, alone.left_out) == (60, 50, set(), 1)
    assert "With only one, its figures are left out of these totals and counts" in render_html(alone)
    three = await add_org(db, "Three", support)
    await add_statement(db, three, [objective("involve_local_people")], numbers=whole(10, 1, 5))
    async with db() as session:
        report = await build_report(session, support, "2026-27", KNOWLEDGE, today=TODAY)
    assert (report.people_reached, report.volunteer_hours, report.estimated) == (110, 155, {"volunteer_hours"})
    assert report.figure("volunteer_hours") == "about 155" and report.figure("people_reached") == "110"
    assert "with 6 volunteers giving about 155 hours" in render_html(report)


async def test_nothing_unshared_in_any_format(db, records: dict[str, int]) -> None:
    async with db() as session:
        report = await build_report(session, records["support"], "2026-27", KNOWLEDGE, today=TODAY)
    html = render_html(report)
    word = render_docx(report)
    with zipfile.ZipFile(BytesIO(word)) as package:
        xml = " ".join(package.read(name).decode() for name in package.namelist() if name.endswith((".xml", ".rels")))
    html = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", html)  # the pictures' bytes
    for shown in (html, xml):
        for secret in (*UNSHARED.values(), "SECRET", "7,777", "7777", "OTHER", "Elsewhere"):
            assert secret not in shown
        # Coastal Cleanup is named only where naming is allowed (who has not sent a report), never by a commitment
        assert "Coastal Cleanup:" not in shown
    assert [(c.organisation, c.text) for c in report.commitments] == [
        ("Allotment Friends", "Hold two open days"),
        ("Bike Kitchen", "Recruit a volunteer coordinator"),
    ]
    assert all(story.organisation != "Coastal Cleanup" for story in report.stories)
    # The equality counts take a member's known groups, never its own words.
    assert {row.id: row.organisations for row in report.equality if row.organisations} == {
        "age": 2,
        "disability": 1,
        "race": 1,
        "low_income": 1,
    }


async def test_commitments_once_and_quotes_once(db, records: dict[str, int]) -> None:
    async with db() as session:
        report = await build_report(session, records["support"], "2026-27", KNOWLEDGE, today=TODAY)
    html = render_html(report)
    parsed = _Text()
    parsed.feed(html)
    text = " ".join(" ".join(parsed.text).split())
    # One commitment under two objectives is listed once, with both.
    assert text.count("Hold two open days") == 1
    assert (
        "Allotment Friends: Hold two open days (by 15 September 2027). Objectives: We involve local people in "
        "shaping what we do; We spend locally and support small local organisations." in text
    )
    assert "Bike Kitchen: Recruit a volunteer coordinator. Objective: " + INVOLVE + "." in text
    # A quote typed with its own quotation marks gets one pair; the objective is named, not run on.
    assert "“Sam fixed his first bike and now teaches others.”" in text and '“"' not in html
    assert "Bike Kitchen (objective: " + INVOLVE + ")" in text and ", on We" not in text
    assert "&lt;b&gt;tomatoes&lt;/b&gt; &amp; stayed" in html  # a member's words are text, never markup


async def test_every_section_with_known_inputs(db, records: dict[str, int], tmp_path: Path) -> None:
    async with db() as session:
        report = await build_report(
            session,
            records["support"],
            "2026-27",
            KNOWLEDGE,
            today=TODAY,
            foreword="We thank our members.\n\nWe recommend  the committee\nkeeps the 10% weighting.",
        )
    assert report.foreword == ["We thank our members.", "We recommend the committee keeps the 10% weighting."]
    assert [(d.organisation, d.outcome) for d in report.deadlines] == [
        ("Allotment Friends", "on_time"),
        ("Allotment Friends", "extended"),
        ("Allotment Friends", "late"),
        ("Bike Kitchen", "not_sent"),
        ("Coastal Cleanup", "not_due"),
    ]
    assert (report.sent, report.not_sent) == (["Allotment Friends"], ["Bike Kitchen"])
    assert [(p.title, p.weighting, p.grants, p.amount, p.scored) for p in report.programmes] == [
        ("Community Chest", Decimal("10.00"), 2, Decimal("7500.00"), None),
        ("Warm Homes", None, 0, Decimal(0), True),
    ]
    html = render_html(report)
    parsed = _Text()
    parsed.feed(html)
    sections = parsed.sections
    assert sections["foreword"].startswith("Foreword and recommendations We thank our members.")
    assert (
        "4 monitoring reports were due for periods ending in 2026-27: 1 sent by the original due date, "
        "1 by an extended due date, 1 late, and 1 not yet sent." in sections["deadlines"]
    )
    assert "Sent every report due: Allotment Friends" in sections["deadlines"]
    assert "Still to send a report: Bike Kitchen" in sections["deadlines"]
    assert re.search(r'data-outcome="extended"><td>Sent by an extended due date</td><td class="n">1<', html)
    assert re.search(r'data-group="age"><td>Age</td><td class="n">2<', html)
    assert re.search(r'data-group="low_income"><td>Low income or deprivation</td><td class="n">1<', html)
    assert re.search(r'data-group="sex"><td>Sex</td><td class="n">0<', html)
    assert "Community Chest 10% not recorded 2 £7,500" in sections["programmes"]
    assert "Warm Homes not recorded yes 0 £0" in sections["programmes"]
    equality = sections["equality"]
    assert "Of the 1 member that shared a monitoring report for the year, 1 counts the people it helps" in equality
    assert (
        "Allotment Friends, monitoring report for the period to 30 June 2026: Age: 12 under 25, 8 over 65." in equality
    )
    assert [(f.organisation, f.text, f.answer) for f in report.follow_ups] == [
        ("Allotment Friends", "Open a community fridge", "The community fridge opened in May."),
        ("Bike Kitchen", "Fix 100 bikes", None),
    ]
    commitments = sections["commitments"]
    assert (
        "Allotment Friends: Open a community fridge (by 1 June 2026) In its monitoring report for the period to "
        "31 December 2026: “The community fridge opened in May.”" in commitments
    )
    assert "Bike Kitchen: Fix 100 bikes Not yet followed up." in commitments
    assert (
        "For 1 programme, whether social value was scored in its decisions is not yet recorded."
        in sections["programmes"]
    )
    gaps = sections["gaps"]
    assert "2 member organisations have no statement for 2026-27." in gaps
    assert "No shared statement covers these 2 objectives: We create local opportunities" in gaps
    assert "1 monitoring report is overdue." in gaps
    assert "No statement yet: Dance Club, Early Birds" in gaps
    method = sections["method"]
    assert "The report year runs from 1 April 2026 to 31 March 2027." in method
    assert "agreed to share its statement with Brighton CVS" in method
    assert "Made with svbot on 20 April 2027." in parsed.joined
    # Three charts, each with alt text that says what it shows.
    alts = dict(parsed.alts)
    assert set(alts) == {"chart", "equality-chart", "deadlines-chart"}
    assert INVOLVE + ": 2 organisations" in alts["chart"]
    assert "Sent by an extended due date: 1; Sent late: 1; Overdue, not yet sent: 1" in alts["deadlines-chart"]
    assert "Age: 2 organisations" in alts["equality-chart"]
    # Drawn by svbot as SVG (no matplotlib needed for HTML), each with its title and bars as text.
    assert all(src.startswith("data:image/svg+xml;base64,") for src in parsed.images)
    objectives_svg = base64.b64decode(parsed.images[0].split(",", 1)[1]).decode()
    assert objectives_svg.startswith("<svg") and "Objectives covered, 2026-27" in objectives_svg
    assert "We involve local people in shaping" in objectives_svg


async def test_the_word_file(db, records: dict[str, int]) -> None:
    made = datetime(2027, 4, 20, 9, 30, tzinfo=UTC)
    async with db() as session:
        report = await build_report(session, records["support"], "2026-27", KNOWLEDGE, today=TODAY)
    data = render_docx(report, created=made)
    document = docx.Document(BytesIO(data))
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)  # A4
    props = document.core_properties
    assert props.title == "Brighton CVS: social value report 2026-27"
    assert props.author == "Brighton CVS" and props.last_modified_by == "svbot"
    assert props.created == made and props.language == "en-GB"
    with zipfile.ZipFile(BytesIO(data)) as package:
        styles = package.read("word/styles.xml").decode()
        footers = " ".join(package.read(n).decode() for n in package.namelist() if n.startswith("word/footer"))
        app = package.read("docProps/app.xml").decode() if "docProps/app.xml" in package.namelist() else ""
    assert 'w:lang w:val="en-GB"' in styles and "en-US" not in styles
    assert re.search(r"PAGE\b", footers)  # a page number field in the footer
    assert "python-docx" not in app
    assert document.paragraphs[0].style.name == "Title"
    assert document.paragraphs[0].text == "Brighton CVS: social value report 2026-27"
    # Every table: the template's table style, its header row repeated on each page, numbers right-aligned.
    assert len(document.tables) == 5  # last year, objectives, equality, monitoring reports, programmes
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for table in document.tables:
        assert table.style.name == "svbot Table"
        first = table.rows[0]._tr
        assert first.find(f"{w}trPr/{w}tblHeader") is not None
    objectives = document.tables[1]
    widths = [cell.width for cell in objectives.rows[0].cells]
    assert widths[0] > Cm(6) and all(Cm(2) <= width < Cm(3.5) for width in widths[1:])
    for row in objectives.rows:
        for cell in row.cells[1:]:
            assert cell.paragraphs[0].alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT
    # Three pictures, each with its alt text.
    descriptions = [shape._inline.docPr.get("descr") for shape in document.inline_shapes]
    assert len(descriptions) == 3
    assert descriptions[0].startswith("Bar chart of how many member organisations that shared")
    assert descriptions[1].startswith("Bar chart of how many member organisations reach each group")
    assert descriptions[2].startswith("Bar chart of the monitoring reports due")
    paragraphs = [p.text for p in document.paragraphs]
    assert "“Maureen came for the <b>tomatoes</b> & stayed for the friends.”" in paragraphs
    assert "Allotment Friends, Bike Kitchen" not in paragraphs  # nobody is listed as having sent everything


class _Text(HTMLParser):
    """The page's text: by element id, by section, and the images' alt text."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.sections: dict[str, str] = {}
        self.images: list[str] = []
        self.alts: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._open: list[str | None] = []
        self._section: list[str | None] = []

    @property
    def joined(self) -> str:
        return " ".join(" ".join(self.text).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found.get("src") or "")
            self.alts.append((found.get("id") or "", found.get("alt") or ""))
            return
        if tag in ("meta", "br"):
            return
        self._open.append(found.get("id"))
        if tag == "section":
            self._section.append(found.get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()
        if tag == "section" and self._section:
            name = self._section.pop()
            if name:
                self.sections[name] = " ".join(self.sections.get(name, "").split())

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open and self._open[-1]:
            self.by_id[self._open[-1]] = self.by_id.get(self._open[-1], "") + data
        if self._section and self._section[-1]:
            self.sections[self._section[-1]] = self.sections.get(self._section[-1], "") + " " + data


async def test_the_page_in_a_browser(db, records: dict[str, int]) -> None:
    """The HTML report in Debian's Chromium: readable, no serious accessibility findings (axe-core);
    with SVBOT_WRITE_SCREENSHOTS=1 its first page is the README's picture, docs/images/annual-report.png."""
    chromium = os.environ.get("SVBOT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        if os.environ.get("CI"):
            raise RuntimeError("CI must run the browser tests: install Chromium (apt-get install chromium)")
        pytest.skip("no Chromium here (apt-get install chromium)")
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    async with db() as session:
        report = await build_report(
            session,
            records["support"],
            "2026-27",
            KNOWLEDGE,
            today=TODAY,
            foreword="Our members reached 485 people this year. We recommend keeping social value at 10% "
            "of the decision in the Community Chest.",
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 1270})
            await page.set_content(render_html(report), wait_until="load")
            assert (
                await page.get_by_role("heading", level=1).inner_text() == "Brighton CVS: social value report 2026-27"
            )
            widths = await page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
            assert len(widths) == 3 and all(w > 300 for w in widths)  # three charts, each drawn
            results = await Axe().run(page)
            serious = [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
            assert serious == []
            if os.environ.get("SVBOT_WRITE_SCREENSHOTS"):
                target = Path(__file__).resolve().parents[1] / "docs" / "images" / "annual-report.png"
                await page.screenshot(path=str(target))  # the first page: one A4-shaped screen
                assert target.read_bytes().startswith(PNG)
        finally:
            await browser.close()


async def test_a_report_with_no_statements_yet(db) -> None:
    support = await add_org(db, "New CVS", None, "support")
    await add_org(db, "Only Member", support)
    async with db() as session:
        report = await build_report(session, support, "2026-27", KNOWLEDGE)
    assert report.statements == 0 and report.missing == ["Only Member"] and report.previous is None
    html = render_html(report)
    assert "No organisation has shared a story" in html
    assert "No monitoring reports were due for periods ending in 2026-27." in html
    assert "No social value weighting is recorded" in html
    assert chart_png(report).startswith(PNG)
    assert len(docx.Document(BytesIO(render_docx(report))).inline_shapes) == 2  # no reports due: no such chart


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
        assert "No support organisation with id" in svbot(
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
        assert "No organisation with id 999." in svbot("invite", "--org", "999", ok=False)

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

        (tmp_path / "foreword.txt").write_text("Our thanks to every member.\n\nWe recommend a 10% weighting.")
        (tmp_path / "logo.png").write_bytes(DOT)
        svbot("report", "--support-org", str(support), "--period", "2026-27", "--format", "docx", "--out", "r.docx",
              "--foreword", "foreword.txt", "--logo", "logo.png")  # fmt: skip
        document = docx.Document(str(tmp_path / "r.docx"))
        assert len(document.inline_shapes) == 3  # the logo, objectives and equality; no monitoring reports due
        texts = [p.text for p in document.paragraphs]
        assert texts[1:5] == [
            "Brighton CVS: social value report 2026-27",
            "Annual report on the social value of our members' work, against Local social value framework and "
            "pledge (starter set)",
            "Report year: 1 April 2026 to 31 March 2027",
            "Prepared by Brighton CVS",
        ]
        start = texts.index("Foreword and recommendations")
        assert texts[start : start + 3] == [
            "Foreword and recommendations",
            "Our thanks to every member.",
            "We recommend a 10% weighting.",
        ]
        assert 'w:type="page"' in document.paragraphs[start - 1]._p.xml  # the title page ends there
        (tmp_path / "logo.txt").write_text("not a picture")
        assert "the logo must be a PNG or JPEG" in svbot(
            "report", "--support-org", str(support), "--period", "2026-27", "--logo", "logo.txt", ok=False
        )
        assert (datetime.now(UTC) - document.core_properties.created) < timedelta(minutes=5)
        assert "cannot read the foreword" in svbot(
            "report", "--support-org", str(support), "--period", "2026-27", "--foreword", "nope.txt", ok=False
        )
        assert "is not a year" in svbot("report", "--support-org", str(support), "--period", "last", ok=False)
        html = svbot("report", "--support-org", str(support), "--period", "2026-27", "--out", "-")
        assert "0 of 1 member organisations" in html and "data:image/svg+xml;base64," in html
        assert "No support organisation with id" in svbot(
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


def test_the_svg_chart_escapes_its_words_and_is_well_formed() -> None:
    chart = BarChart(["<b>Tea</b> & cake", "A much longer label that wraps onto a second line of its own"], [3, 0],
                     "Title <script>", "Organisations", ["#2a7f62"])  # fmt: skip
    svg = bar_svg(chart).decode()
    root = ElementTree.fromstring(svg)  # well-formed: would raise on a raw "<b>" or "&"
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and "<script>" not in svg and "<b>" not in svg
    words = " ".join(" ".join(root.itertext()).split())
    assert "<b>Tea</b> & cake" in words and "Title <script>" in words
    assert [r.get("width") for r in root.iter("{http://www.w3.org/2000/svg}rect")][1:] == ["410.0", "0.0"]


def test_without_matplotlib_html_keeps_its_charts_and_word_says_how_to_add_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as after `pip install .` without [charts]
    report = AnnualReport(
        support_name="Brighton CVS", period="2026-27", framework_id="local_pledge", framework_title="Local pledge",
        members=2, organisations=["A"], missing=["B"],
        objectives=[ObjectiveRow("one", "We involve local people", organisations=1, people_reached=10)],
    )  # fmt: skip
    assert render_html(report).count('src="data:image/svg+xml;base64,') == 2  # no reports due: no third chart
    document = docx.Document(BytesIO(render_docx(report)))
    assert len(document.inline_shapes) == 0
    assert "they need svbot's charts extra (pip install 'svbot[charts]')" in "\n".join(
        p.text for p in document.paragraphs
    )
    assert document.tables  # the figures are still there, as tables
