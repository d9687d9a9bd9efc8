"""Transcripts of four kinds of group going through the walk-through (issue 14), with their answer
counts: a befriending scheme that knows its numbers, a community garden that only has estimates, a
parent-and-toddler group that says "I don't know" to most things, and a money advice service
bidding for a contract.

Each transcript is a list of (what svbot asks, what the person sends), run through the real app on
the shipped dialogues and knowledge. What svbot asks is a question's key (`meta["key"]`), or words
from its message for a check, a refusal or the review. Every line is one **answer**: every message
the person sends after "start" until the draft statement arrives, including "yes" to a check, a
second try after a refusal, and the review's "all correct". The counts are asserted exactly, so a
change that adds a question fails here; README.md ("How long the walk-through takes") states them.

Today is Sunday 22 November 2026 (tests/scenario.py START).
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import select

from svbot.channels.console import ConsoleChannel
from svbot.evidence import StatementRecord
from svbot.messages import Inbound, Outbound
from svbot.models import Organisation
from svbot.paths import dialogues_dir
from svbot.support.invites import create_invite
from svbot.turns import Bot
from tests.scenario import Clock, ScenarioBot, make_bot

TARGET = 25  # issue 14: at most 25 answers for a group with two objectives that answers everything

REVIEW = "Here's what you told me"
DRAFT = "Here's your draft evidence statement"
REFUSED = "This one can't be left out"  # said before a needed question is asked again


@dataclass(frozen=True)
class Press:
    """The person presses this button rather than typing."""

    label: str


Step = tuple[str, "str | Press"]  # (what svbot asks, what the person sends)


class Person(Protocol):
    replies: list[Outbound]

    async def say(self, text: str) -> object: ...

    async def press(self, label: str) -> object: ...


# ---- running a transcript ------------------------------------------------------------------------


def asked(person: Person) -> str:
    """What svbot is waiting for: the question's key, or the text of a check, refusal or review."""
    message = person.replies[-1]
    key = message.meta.get("key")
    return key if key and not message.meta.get("confirm") else message.text


def is_asking(person: Person, expected: str) -> bool:
    message = person.replies[-1]
    key = message.meta.get("key")
    return (expected == key and not message.meta.get("confirm")) or expected in message.text


def drafted(person: Person) -> bool:
    return any(DRAFT in m.text for m in person.replies)


async def walk(person: Person, steps: list[Step], *, opener: str = "start") -> list[str]:
    """Say `opener` (not counted), then answer each question in turn, checking svbot asked what the
    transcript says it asks; the draft must arrive after the last answer and not before. Returns
    what was asked, in order."""
    await person.say(opener)
    seen: list[str] = []
    for number, (question, answer) in enumerate(steps, start=1):
        assert not drafted(person), f"the draft arrived after {number - 1} answers, before {question!r}"
        assert is_asking(person, question), (
            f"answer {number}: the transcript expects svbot to ask {question!r}, but it asked:\n{asked(person)}"
        )
        seen.append(asked(person))
        if isinstance(answer, Press):
            await person.press(answer.label)
        else:
            await person.say(answer)
    assert drafted(person), f"no draft after {len(steps)} answers; svbot is asking:\n{asked(person)}"
    return seen


def statement_text(person: Person) -> str:
    return "\n".join(m.text for m in person.replies if m.markdown)


def titled(text: str, name: str) -> bool:
    return text.startswith("# ") and name in text.splitlines()[0]


async def stored(bot: Bot) -> dict[str, Any]:
    """What the latest statement was made from (kept, not its rendering): the group's figures, who
    benefits and each objective's answers."""
    async with bot.sessionmaker() as session:
        return await session.scalar(select(StatementRecord.data).order_by(StatementRecord.id.desc()).limit(1))


def figures_once(data: dict[str, Any]) -> bool:
    """The group's figures are kept once, for the whole group, and none again under an objective."""
    counted = ("people_reached", "volunteers", "volunteer_hours", "local_spend", "partners")
    return all(all(ev["numbers"][name] is None for name in counted) for ev in data["objectives"])


@dataclass
class _Recording:
    """Stands between `svbot chat` and the bot, keeping what was said last for the transcript."""

    bot: Bot
    replies: list[Outbound] = field(default_factory=list)

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        self.replies = await self.bot.handle(inbound)
        return self.replies


class ConsolePerson:
    """Someone typing in `svbot chat` (the terminal channel, as piped input drives it): numbers
    press the options shown, and everything is typed."""

    def __init__(self, bot: Bot, files: Path) -> None:
        self.out = io.StringIO()
        self._recording = _Recording(bot)
        self.console = ConsoleChannel(self._recording, "ann", out=self.out, files_dir=files, interactive=False)  # type: ignore[arg-type]

    @property
    def replies(self) -> list[Outbound]:
        return self._recording.replies

    async def say(self, text: str) -> None:
        await self.console.say(text)

    async def press(self, label: str) -> None:
        await self.console.say(label)  # typing an option's label presses it


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[Bot]:
    real = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=Clock())
    yield real
    await real.db_engine.dispose()  # type: ignore[attr-defined]


# ---- 1. a befriending scheme that knows its numbers -------------------------------------------------

# It joined Brighton CVS with a code: the CVS's framework (the local pledge) applies and svbot knows
# the scheme's name, so neither is asked.
BEFRIENDING_MEMBER: list[Step] = [
    ("org.what", "We phone 140 older people every week for a friendly chat, across Brighton and Hove"),
    ("org.size", Press("£10,000 to £100,000")),
    ("facts.who_benefits", "Older poeple, People who are lonely or isolated"),  # a typo, understood
    ("facts.period", Press("The last 12 months")),
    ("facts.people_reached", "140 older people"),  # the one number in a sentence
    ("facts.volunteers", "38 volunteers"),
    ("facts.volunteer_hours", "1,976"),
    ("facts.partners", "4"),
    ("facts.local_spend", "£1,250"),
    ("objectives", "1, 2"),
    ("per_objective.involve_local_people.activity",
     "Members chose the topics for our monthly phone-in quiz and 22 of them sit on our callers' panel"),
    ("per_objective.involve_local_people.over_and_above",
     "Volunteers make extra calls at Christmas and on birthdays, which no grant pays for"),
    ("per_objective.involve_local_people.change", "Members say they feel less alone and look forward to the calls"),
    ("per_objective.involve_local_people.evidence_kinds", "1, 2"),
    ("per_objective.involve_local_people.evidence_detail",
     "In our March survey, 96 of 120 members said they feel less lonely"),
    ("per_objective.involve_local_people.story",
     '"I hadn\'t spoken to anyone for a week before Jean rang," said one member, 84.'),
    ("per_objective.involve_local_people.commitment",
     "Hold 4 members' panel meetings by 31 March 2028, counted in our minutes"),
    ("per_objective.local_opportunities.activity",
     "We train volunteers to listen well, and 9 of them went on to paid care work"),
    ("per_objective.local_opportunities.over_and_above", "Volunteers give 2 extra hours a month to mentor new callers"),
    ("per_objective.local_opportunities.change", "Volunteers gain confidence and skills"),
    ("per_objective.local_opportunities.evidence_kinds", "2"),
    ("per_objective.local_opportunities.evidence_detail", "In our survey 30 of 38 feel more confident"),
    ("per_objective.local_opportunities.story",
     '"Calling Mr P gave me the confidence to apply for a job," said a volunteer.'),
    ("per_objective.local_opportunities.commitment",
     "Train 12 new volunteer callers by the end of March 2028, counted in our training log"),
    (REVIEW, "all correct"),
]  # fmt: skip

# The same scheme on its own in `svbot chat`: it names itself and picks a framework, and types the
# numbers of the options it chooses, as the terminal shows them.
BEFRIENDING_ON_ITS_OWN: list[Step] = [
    ("org.name", "Hove Phone Friends"),
    ("org.what", BEFRIENDING_MEMBER[0][1]),
    ("org.size", "2"),
    ("framework", "2"),  # 2. Local social value framework and pledge (starter set)
    *[(q, "1" if q == "facts.period" else a) for q, a in BEFRIENDING_MEMBER[2:]],
]

BEFRIENDING_NUMBERS = {"people_reached": 140, "volunteers": 38, "volunteer_hours": 1976, "local_spend": 1250,
                       "partners": 4}  # fmt: skip


async def test_a_befriending_scheme_that_joined_with_a_code_and_knows_its_numbers(bot: Bot) -> None:
    async with bot.sessionmaker() as session, session.begin():
        cvs = Organisation(name="Brighton CVS", kind="support", framework_id="local_pledge")
        session.add(cvs)
        await session.flush()
        scheme = Organisation(name="Hove Phone Friends", kind="member", support_org_id=cvs.id)
        session.add(scheme)
        await session.flush()
        code = (await create_invite(session, scheme.id, Clock()(), role="org_admin")).code
    person = ScenarioBot(bot, user="jean")
    await person.say(f"join {code}")
    assert "Welcome!" in person.text

    seen = await walk(person, BEFRIENDING_MEMBER)

    assert "org.name" not in seen and "framework" not in seen, "the code says who they are and whose objectives"
    assert len(BEFRIENDING_MEMBER) == 25 <= TARGET
    text = statement_text(person)
    assert titled(text, "Hove Phone Friends") and "Local social value framework and pledge" in text
    data = await stored(bot)
    assert data["who_benefits"] == ["older_people", "people_who_are_isolated"], "'Older poeple' understood"
    assert {k: v for k, v in data["numbers"].items() if v} == BEFRIENDING_NUMBERS and figures_once(data)
    for shown in ("140", "1,976", "£1,250", "Hold 4 members' panel meetings by 31 March 2028"):
        assert shown in text, shown
    assert "older people" in text.lower()
    assert "None found" in text, "answering everything leaves no gaps"


async def test_the_same_befriending_scheme_on_its_own_in_svbot_chat(bot: Bot, tmp_path: Path) -> None:
    person = ConsolePerson(bot, tmp_path)

    seen = await walk(person, BEFRIENDING_ON_ITS_OWN)

    assert seen[:4] == ["org.name", "org.what", "org.size", "framework"]
    assert len(BEFRIENDING_ON_ITS_OWN) == 27, "two more than a member: its name and its framework"
    text = statement_text(person)
    assert titled(text, "Hove Phone Friends") and "Local social value framework and pledge" in text
    assert "illustrative" in person.out.getvalue(), "the starter set is said to be illustrative"
    data = await stored(bot)
    assert {k: v for k, v in data["numbers"].items() if v} == BEFRIENDING_NUMBERS and figures_once(data)
    assert "Saved" in person.out.getvalue() and list(tmp_path.glob("*.docx")), "the Word file, saved beside them"


# ---- 2. a community garden with only estimates ----------------------------------------------------

GARDEN: list[Step] = [
    ("org.name", "Hollingdean Community Garden"),
    ("org.what", "We grow food together on an old allotment in Hollingdean, Brighton"),
    ("org.size", Press("£10,000 to £100,000")),
    ("framework", Press("Building social capital (starter set)")),
    ("facts.who_benefits", "Families with children, The whole local community"),
    ("facts.period", Press("The last 12 months")),
    ("facts.people_reached", "15 families a week"),
    ("I worked that out as 15 a week × 52 = 780 over a year. Shall I put 780?"
     " If it's mostly the same people each time, say no and tell me how many different people that is.",
     "no"),  # the same families
    ("facts.people_reached", "around 200 people"),
    ("facts.volunteers", "about 60"),
    ("facts.volunteer_hours", "38 x 2 x 48"),
    ("I worked that out as 38 × 2 × 48 = 3,648. Shall I put 3,648?", "yes"),
    ("facts.partners", "twenty five"),
    ("facts.local_spend", "over £1,000"),
    ("objectives", "1, 2"),
    ("per_objective.more_volunteering.activity", "Families grow their own veg in shared beds"),
    ("per_objective.more_volunteering.over_and_above", "Volunteers open up on Sundays, unpaid"),
    ("per_objective.more_volunteering.change", "Families eat more fresh food and know their neighbours"),
    ("per_objective.more_volunteering.evidence_kinds", "1"),
    ("per_objective.more_volunteering.evidence_detail", "Our register shows about 40 families come most weeks"),
    ("per_objective.more_volunteering.story", "skip"),
    ("per_objective.more_volunteering.commitment", "Run 40 family sessions by next March, counted in our register"),
    ("per_objective.less_isolation.activity", "Volunteers run open days for the whole street"),
    ("per_objective.less_isolation.over_and_above", "Volunteers cook a harvest supper each October, unpaid"),
    ("per_objective.less_isolation.change", "People who had never spoken now garden together"),
    ("per_objective.less_isolation.evidence_kinds", "4"),  # quotes alone: no "what did it show?"
    ("per_objective.less_isolation.story", '"I know everyone on my road now," said one gardener.'),
    ("per_objective.less_isolation.commitment", "Hold 2 open days"),
    ("per_objective.less_isolation.commitment_date", "end of next march"),
    (REVIEW, "all correct"),
]  # fmt: skip


async def test_a_community_garden_with_only_estimates(bot: Bot) -> None:
    person = ScenarioBot(bot, user="priya")

    await walk(person, GARDEN)

    # 30: the 27 of a group on its own answering everything, less a "what did it show?" (quotes
    # alone), plus a "By when?", the per-week figure and the "no" to its year's worth (2), and the
    # "yes" to the sum worked out. "about 60", "around 200 people" and "over £1,000" are taken as
    # said: no check.
    assert len(GARDEN) == 30
    text = statement_text(person)
    assert titled(text, "Hollingdean Community Garden")
    data = await stored(bot)
    numbers = data["numbers"]
    assert (numbers["people_reached"], numbers["volunteers"], numbers["volunteer_hours"], numbers["local_spend"],
            numbers["partners"]) == (200, 60, 3648, 1000, 25)  # fmt: skip
    assert numbers["qualifiers"] == {"people_reached": "about", "volunteers": "about", "local_spend": "over"}
    assert figures_once(data)
    # In the statement: the qualifiers kept with the numbers, each figure for the group once (and at
    # most once more in the list of figures), never again under each objective.
    for figure in ("about 200", "about 60", "3,648", "over £1,000"):
        assert 1 <= text.lower().count(figure) <= 2, figure
    assert "31 March 2027" in text, "end of next march"
    assert "Run 40 family sessions by next March" in text


# ---- 3. a parent-and-toddler group that doesn't know most things ------------------------------------

TODDLERS: list[Step] = [
    ("org.name", "Little Acorns Stay and Play"),
    ("org.what", "I don't know"),
    (REFUSED, "A parent and toddler group in the church hall on Ditchling Road, Brighton"),
    ("org.size", Press("Under £10,000")),
    ("framework", Press("Building social capital (starter set)")),
    ("facts.who_benefits", "I don't know"),
    ("facts.period", "dunno"),
    ("facts.people_reached", "not sure"),
    ("facts.volunteers", "no idea"),  # and so no volunteer hours; under £10,000: no partners, local spend or £ value
    ("objectives", "1, 2"),
    ("per_objective.more_volunteering.activity", "Parents and toddlers play and chat every Thursday morning"),
    ("per_objective.more_volunteering.over_and_above", "I don't know"),
    ("per_objective.more_volunteering.change", "no idea"),
    (REFUSED, "Parents feel less alone"),
    ("per_objective.more_volunteering.evidence_kinds", "I don't know"),  # "None yet"
    ("per_objective.more_volunteering.story", "not sure"),
    ("per_objective.more_volunteering.commitment", "dunno"),
    ("per_objective.less_isolation.activity", "Parents meet other parents"),
    ("per_objective.less_isolation.over_and_above", "no idea"),
    ("per_objective.less_isolation.change", "Parents make friends"),
    ("per_objective.less_isolation.evidence_kinds", "don't know"),
    ("per_objective.less_isolation.story", "no idea"),
    ("per_objective.less_isolation.commitment", "I'm not sure"),
    (REVIEW, "all correct"),
]  # fmt: skip


async def test_a_parent_and_toddler_group_that_does_not_know_most_things(bot: Bot) -> None:
    person = ScenarioBot(bot, user="sam")

    seen = await walk(person, TODDLERS)

    assert len(TODDLERS) == 24, "22 questions, and 2 asked again after 'I don't know' where something is needed"
    for shortest in ("facts.partners", "facts.local_spend", "facts.own_value", "facts.volunteer_hours"):
        assert shortest not in seen
    review = next(t for t in reversed(person.transcript) if REVIEW in t)
    assert "5. Who benefits: not answered yet" in review and "(skipped)" not in review
    assert "How you know: None yet" in review
    assert "Over and above: not answered yet" in review
    text = statement_text(person)
    assert titled(text, "Little Acorns Stay and Play")
    data = await stored(bot)
    assert data["who_benefits"] == [] and not any(v for k, v in data["numbers"].items() if k != "qualifiers")
    gaps = text.lower().split("gaps to close")[1]
    for gap in ("who benefits", "how many people you reached", "no evidence yet", "commitment",
                "more people give their time and take part in community life",
                "people have more friends and people to turn to"):  # fmt: skip
        assert gap in gaps, gap


# ---- 4. a money advice service bidding for a contract ----------------------------------------------

MONEY_ADVICE: list[Step] = [
    ("org.name", "Brighton Money Advice"),
    ("org.what", "Free debt and benefits advice at our drop-in on London Road, Brighton, and by phone"),
    ("org.size", Press("Over £1 million")),
    ("framework", Press("Social Value Model (PPN 06/20)")),
    ("facts.who_benefits", "People on low incomes, Disabled people"),
    ("facts.period", Press("April 2025 to March 2026")),
    ("facts.people_reached", "1,240 people plus our 12 volunteers"),
    ("more than one number there (1,240 and 12)", "1,240"),
    ("facts.volunteers", "12 people"),
    ("facts.volunteer_hours", "1,150"),
    ("facts.partners", "6"),
    ("facts.local_spend", "£18,400"),
    ("facts.own_value", "£2,300,000"),
    ("facts.own_value_source", "Our 2026 evaluation by Sussex Community Research, page 12"),
    ("objectives", "health, community integration"),
    ("per_objective.health_wellbeing.activity", "We give free debt advice that lifts the stress of money worries"),
    ("per_objective.health_wellbeing.over_and_above",
     "Volunteers run an evening phone line that our contract does not pay for"),
    ("per_objective.health_wellbeing.change", "Clients sleep better and feel less anxious once a plan is in place"),
    ("per_objective.health_wellbeing.evidence_kinds", "2, 5"),
    ("per_objective.health_wellbeing.evidence_detail", "71% of clients felt less anxious three months on"),
    ("per_objective.health_wellbeing.story", '"I stopped dreading the post," said one client.'),
    ("per_objective.health_wellbeing.commitment", "Advise 1,500 more people by March 2028, counted in our case system"),
    # The date is in the commitment: no "By when?".
    ("per_objective.community_integration.activity", "We run budgeting workshops with the food bank and the library"),
    ("per_objective.community_integration.over_and_above", "Workshops are extra to our contract, run by volunteers"),
    ("per_objective.community_integration.change", "People meet neighbours and find out about other local help"),
    ("per_objective.community_integration.evidence_kinds", "1"),
    ("per_objective.community_integration.evidence_detail", "Our register shows 320 people came to 24 workshops"),
    ("per_objective.community_integration.story", "skip"),
    ("per_objective.community_integration.commitment", "Run 30 workshops with 3 partners, counted in our register"),
    ("per_objective.community_integration.commitment_date", "31st of January"),
    (REVIEW, "8"),  # 8. Volunteers: 12; it is 14 now
    ("(Your answer now: 12)", "14"),
    ("8. Volunteers: 14", "all correct"),  # back at the review, with the change
]  # fmt: skip

# `new statement` for a council's local pledge: only the new objectives' questions.
MONEY_ADVICE_LOCAL_BID: list[Step] = [
    ("I'll keep what you've told me about your group", Press("Local social value framework and pledge (starter set)")),
    ("objectives", "3, 4"),
    ("per_objective.spend_locally.activity", "We buy from local printers and caterers"),
    ("per_objective.spend_locally.over_and_above", "Volunteers cook for our workshops"),
    ("per_objective.spend_locally.change", "Local suppliers get steady work"),
    ("per_objective.spend_locally.evidence_kinds", "2"),
    ("per_objective.spend_locally.evidence_detail", "9 of our 11 local suppliers said our orders help them keep staff"),
    ("per_objective.spend_locally.story", "skip"),
    ("per_objective.spend_locally.commitment", "Publish the list of local suppliers we use"),
    ("per_objective.spend_locally.commitment_date", "next Friday"),
    ("per_objective.work_in_partnership.activity", "We share our training room with 3 local groups for free"),
    ("per_objective.work_in_partnership.over_and_above", "No one pays us for the room"),
    ("per_objective.work_in_partnership.change", "Small groups can meet without paying rent"),
    ("per_objective.work_in_partnership.evidence_kinds", "none yet"),
    ("per_objective.work_in_partnership.story", "skip"),
    ("per_objective.work_in_partnership.commitment", "Host 3 groups every month by March 2028"),
    (REVIEW, "all correct"),
]  # fmt: skip


async def test_a_money_advice_service_bidding_for_a_contract(bot: Bot) -> None:
    person = ScenarioBot(bot, user="rob")

    seen = await walk(person, MONEY_ADVICE)

    # 33: 30 questions for a group over £1 million on its own (its £ value and where it comes from,
    # and one "By when?"), one more for the sentence with two numbers, and two to change an answer.
    assert len(MONEY_ADVICE) == 33
    assert "per_objective.health_wellbeing.commitment_date" not in seen, "by March 2028 is a date"
    text = statement_text(person)
    assert titled(text, "Brighton Money Advice") and "Social Value Model" in text
    data = await stored(bot)
    assert (data["figures_from"], data["figures_to"]) == ("2025-04-01", "2026-03-31")
    assert "April 2025 to March 2026" in text and "2026-27" not in text, "the year its figures cover, not today's"
    assert data["numbers"]["volunteers"] == 14, "the answer changed at the review"
    assert data["numbers"]["own_value"]["source"] == "Our 2026 evaluation by Sussex Community Research, page 12"
    assert figures_once(data)
    commitments = {ev["objective_id"]: ev["commitment"]["due"] for ev in data["objectives"]}
    assert commitments == {"health_wellbeing": None, "community_integration": "2027-01-31"}, "31st of January"
    for shown in ("1,240", "1,150", "£18,400", "£2,300,000", "Sussex Community Research",
                  "Advise 1,500 more people by March 2028, counted in our case system", "31 January 2027"):  # fmt: skip
        assert shown in text, shown

    person.replies.clear()
    await person.say("limit 500")
    assert "fitted to 500 words" in person.text
    fitted = statement_text(person)
    used = re.search(r"([\d,]+) words \(limit 500\)", fitted)
    assert used and int(used.group(1).replace(",", "")) <= 500
    assert "1,240" in fitted and "£2,300,000" in fitted, "numbers are never cut"

    seen = await walk(person, MONEY_ADVICE_LOCAL_BID, opener="new statement")

    assert len(MONEY_ADVICE_LOCAL_BID) == 17, "the framework, the objectives, and only their questions"
    assert not [k for k in seen if k.startswith(("org.", "facts."))], "the group's facts are kept"
    local = statement_text(person)
    assert titled(local, "Brighton Money Advice") and "Local social value framework and pledge" in local
    assert "We spend locally and support small local organisations" in local
    assert "Improve health and wellbeing" not in local, "only the new framework's objectives"
    assert "1,240" in local and "£18,400" in local, "the group's facts carry over"
    assert "27 November 2026" in local, "next Friday, from Sunday 22 November 2026"
    data = await stored(bot)
    assert data["framework_id"] == "local_pledge" and data["numbers"]["volunteers"] == 14


# ---- the counts README.md states ---------------------------------------------------------------------


def test_the_readme_states_the_counts_these_transcripts_measure() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How long the walk-through takes")[1].split("\n## ")[0]
    said = " ".join(section.split())
    assert f"answers everything: **{len(BEFRIENDING_MEMBER)} answers**" in said
    assert f"picks a framework: {len(BEFRIENDING_ON_ITS_OWN)}." in said
    assert f'"15 families a week"): {len(GARDEN)}.' in said
    assert f"bidding for a contract: {len(MONEY_ADVICE)} (" in said
    assert f"then took {len(MONEY_ADVICE_LOCAL_BID)}: only the new objectives" in said
    assert f'"I don\'t know" to most things took {len(TODDLERS)} and still got a statement' in said
    assert "under £10,000 a year get the shortest path" in said and "partners, local spend or a £ value" in said
