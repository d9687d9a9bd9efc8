"""The draft evidence statement as a bid answer, in all four formats.

Three organisations whose answers were stored in the old shape (figures and who benefits under each
objective: statements made before issue 14 still compose) and one in the new shape (the group's
facts asked once: `StatementInput.numbers`, `who_benefits`, `figures_from`/`figures_to`). The rules
on evidence, word limits and numbers are tested one by one in tests/test_statement_evidence.py.
"""

from __future__ import annotations

import shutil
from datetime import date
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError
from markdown_it import MarkdownIt

from svbot.knowledge import Knowledge, load_knowledge
from svbot.paths import knowledge_dir
from svbot.statements import (
    Commitment,
    Numbers,
    ObjectiveEvidence,
    OwnValue,
    Statement,
    StatementError,
    StatementInput,
    body_text,
    chat_chunks,
    compose,
    render,
    submit_text,
)
from svbot.statements.text import count_words, format_count, format_money, split_text

# Markdown, HTML, Slack mrkdwn and Telegram markup in one answer.
MARKUP = (
    '*bold* _it_ **strong** `code` [link](https://evil.example) <b>x</b> <script>alert(1)</script> '
    '&amp; <!here> <https://evil.example|click> ~strike~ ||spoiler|| # not a heading'
)
LINE_START_MARKUP = "- not a list\n1. not numbered\n> not a quote\n===\nnot a heading\n---"
NOTES = "Notes for you, not for the bid"
GAPS = "Gaps to close before you submit"


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(knowledge_dir())


def lunch_club(**changes: object) -> StatementInput:
    """A lunch club for older people, against the building social capital starter set."""
    data = StatementInput(
        org_name="Hollington Friendship Lunch Club",
        org_what="A weekly hot lunch and company for older people in Hollington.",
        org_where="Hastings, East Sussex",
        size_band="micro (under £10,000 a year)",
        framework_id="building_social_capital",
        period="April 2025 to March 2026",
        objectives=[
            ObjectiveEvidence(
                objective_id="less_isolation",
                activity="Every Tuesday we cook a two-course lunch in the church hall. Members stay for "
                         "tea, games and a chat until three.",
                beneficiaries=["older_people", "people_who_are_isolated"],
                equality_groups=["age", "disability", "rural_isolation"],
                numbers=Numbers(people_reached=1234, sessions=48, volunteers=12, volunteer_hours=1250.5,
                                local_spend=2345.67),
                change="Members say they feel less lonely. Several now phone each other in the week.",
                evidence_kinds=["attendance_records", "survey"],
                evidence_detail="In March, 28 of 35 members answered our loneliness question.",
                story="\"Tuesday is the only day I talk to anyone.\" (Member, 84)",
                commitment=Commitment(text="Start a telephone buddy scheme.",
                                      measure="20 members paired with a buddy",
                                      due=date(2026, 12, 31)),
            ),
            ObjectiveEvidence(
                objective_id="more_volunteering",
                activity="Members help lay tables and wash up.",
                beneficiaries=["older_people"],
                numbers=Numbers(volunteers=12),
                change="Two members became regular volunteers.",
                evidence_kinds=["quote"],
                commitment=Commitment(text="Recruit two younger volunteers.", measure="2 new volunteers"),
            ),
        ],
    )
    return data.model_copy(update=changes)


def sports_club(**changes: object) -> StatementInput:
    """A youth sports club, against the UK Social Value Model."""
    data = StatementInput(
        org_name="Northfield Youth FC",
        org_what="Free football coaching for 8 to 16 year olds on the Northfield estate.",
        org_where="Birmingham",
        framework_id="uk_social_value_model",
        period="2025",
        objectives=[
            ObjectiveEvidence(
                objective_id="health_wellbeing",
                activity="Three coached sessions a week, all year round.",
                beneficiaries=["young_people", "children"],
                equality_groups=["age", "sex", "race", "low_income"],
                numbers=Numbers(people_reached=87, sessions=150, volunteers=9, volunteer_hours=675.0),
                change="Players are fitter and say they feel better about themselves.",
                evidence_kinds=["external_evaluation"],
                evidence_detail="The county FA's 2025 review of our club.",
                commitment=Commitment(text="Add a girls' team.", measure="15 girls playing weekly",
                                      due=date(2026, 9, 1)),
            ),
            ObjectiveEvidence(
                objective_id="new_jobs_skills",
                activity="Older players train as assistant coaches.",
                beneficiaries=["young_people"],
                numbers=Numbers(people_reached=6, own_value=OwnValue(
                    amount=1800, description="coaching course fees we paid",
                    source="our 2025 accounts")),
                change="Six players gained their first coaching badge.",
                evidence_kinds=["attendance_records", "case_study"],
                commitment=Commitment(text="Put four more players through the course.",
                                      measure="4 badges", due=date(2026, 7, 31)),
            ),
            ObjectiveEvidence(objective_id="community_integration",
                              activity="A summer tournament for teams from three estates.",
                              evidence_kinds=["none_yet"]),
        ],
    )
    return data.model_copy(update=changes)


def food_bank(**changes: object) -> StatementInput:
    """A community food bank, against the illustrative local pledge."""
    data = StatementInput(
        org_name="St Mark's Community Food Bank",
        org_what="Emergency food parcels and a Friday community meal.",
        org_where="Leeds",
        framework_id="local_pledge",
        period="2025-26",
        objectives=[
            ObjectiveEvidence(
                objective_id="work_in_partnership",
                activity="A joint Friday drop-in with Citizens Advice and the credit union.",
                beneficiaries=["people_on_low_incomes", "families"],
                numbers=Numbers(people_reached=2150, sessions=50, partners=4),
                change="People sort out debts and benefits while they collect food.",
                evidence_kinds=["case_study", "quote"],
                story="\"They helped me claim £600 I didn't know about.\"",
                commitment=Commitment(text="Add a housing adviser.", measure="Adviser at 40 sessions",
                                      due=date(2026, 6, 30)),
            ),
            ObjectiveEvidence(
                objective_id="care_for_environment",
                activity="We collect surplus food from three supermarkets.",
                numbers=Numbers(volunteers=30, volunteer_hours=3100),
                evidence_kinds=["none_yet"],
                commitment=Commitment(text="Weigh what we save."),
            ),
        ],
    )
    return data.model_copy(update=changes)


def befriending(**changes: object) -> StatementInput:
    """A phone befriending scheme in the new shape: its facts once, for a stated period."""
    data = StatementInput(
        org_name="Hove Phone Friends",
        org_what="We phone older people every week for a friendly chat, across Brighton and Hove.",
        framework_id="local_pledge",
        period="2026-27",  # the year the statement was made in: never printed
        who_benefits=["older_people", "people_who_are_isolated"],
        numbers=Numbers(people_reached=140, volunteers=38, volunteer_hours=1976, partners=4, local_spend=1250.5,
                        qualifiers={"people_reached": "about"}),
        figures_from=date(2025, 4, 1),
        figures_to=date(2026, 3, 31),
        objectives=[
            ObjectiveEvidence(
                objective_id="involve_local_people",
                activity="Members choose the topics for our monthly phone-in quiz.",
                over_and_above="Volunteers make extra calls at Christmas, which no grant pays for.",
                change="Members say they feel less alone.",
                evidence_kinds=["attendance_records", "survey"],
                evidence_detail="In our March survey, 96 of 120 members said they feel less lonely.",
                story="\"I hadn't spoken to anyone for a week before Jean rang,\" said one member.",
                commitment=Commitment(text="Hold 4 members' panel meetings by 31 March 2028."),
            ),
            ObjectiveEvidence(
                objective_id="local_opportunities",
                activity="We train volunteers to listen well.",
                over_and_above="none",  # says there is nothing: left out, and a gap
                change="Volunteers gain confidence.",
                evidence_kinds=["quote"],
                commitment=Commitment(text="Train 12 new callers.", measure="our training log", due=date(2027, 3, 31)),
            ),
        ],
    )
    return data.model_copy(update=changes)


ORGANISATIONS = {"lunch_club": lunch_club, "sports_club": sports_club, "food_bank": food_bank,
                 "befriending": befriending}  # fmt: skip
OLD_SHAPE = ("lunch_club", "sports_club", "food_bank")


def all_formats(statement: Statement) -> dict[str, str]:
    """Every format as text a person would read (docx: its paragraphs and table cells)."""
    out = {fmt: render(statement, fmt) for fmt in ("md", "html", "txt")}
    out["docx"] = docx_text(render(statement, "docx"))
    return {k: v for k, v in out.items() if isinstance(v, str)}


def docx_text(data: object) -> str:
    assert isinstance(data, bytes)
    document = docx.Document(BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines.extend(" | ".join(c.text for c in row.cells) for row in table.rows)
    return "\n".join(lines)


class _TextAndTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_text_and_tags(html: str) -> tuple[str, list[str]]:
    parser = _TextAndTags()
    parser.feed(html)
    return "".join(parser.text), parser.tags


def markdown_as_html(md: str) -> str:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(md)




class _Balanced(HTMLParser):
    """Checks that every element opened is closed, in order (void elements aside)."""

    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def plain(fmt: str, text: str) -> str:
    """What a reader sees: html without its tags, markdown without its escapes."""
    if fmt == "html":
        text = html_text_and_tags(text)[0]
    if fmt == "md":
        text = text.replace("\\", "")
    return text


def gap_problems(statement: Statement) -> list[str]:
    return [g.problem for g in statement.gaps]


# ---- the organisations, in every format ------------------------------------------------------------


@pytest.mark.parametrize("org", ORGANISATIONS)
def test_every_objective_in_every_format_under_the_funders_wording(org: str, knowledge: Knowledge) -> None:
    data = ORGANISATIONS[org]()
    statement = compose(data, knowledge)
    framework = knowledge.framework(data.framework_id)
    titles = [framework.objective(o.objective_id).title for o in data.objectives]
    assert [s.title for s in statement.sections] == titles
    assert [s.number for s in statement.sections] == list(range(1, len(titles) + 1))
    assert [s.id for s in statement.sections] == [o.objective_id for o in data.objectives]
    for fmt, text in all_formats(statement).items():
        seen = plain(fmt, text)
        for section in statement.sections:
            assert section.title in seen, (fmt, section.title)
            assert section.paragraph in " ".join(seen.split()) or fmt == "md", (fmt, section.title)
        assert data.org_name in seen, fmt
        assert "None" not in seen.split(), fmt
    # The text to submit: each paragraph under its objective's title, the opening first.
    text = submit_text(statement)
    assert text.startswith(statement.opening_paragraph)
    for section in statement.sections:
        assert f"{section.title}\n{section.paragraph}" in text


@pytest.mark.parametrize("org", ORGANISATIONS)
def test_an_answer_not_a_form(org: str, knowledge: Knowledge) -> None:
    """No labels, tables or svbot notes in the text to submit; the notes kept apart, after it."""
    statement = compose(ORGANISATIONS[org](), knowledge)
    text = submit_text(statement)
    for label in ("Evidence strength", "Set by:", "Figures:", "Period:", "Licence", "|", "Suggestion:",
                  "Evidenced", "Not yet evidenced", "None found", GAPS, NOTES):  # fmt: skip
        assert label not in text, label
    for section in statement.sections:
        assert section.evidence_note not in text
        assert section.paragraph.strip(), "every objective has a paragraph"
    for gap in statement.gaps:
        assert gap.problem not in text and gap.suggestion not in text
    for fmt, rendered in all_formats(statement).items():
        seen = plain(fmt, rendered).lower()
        last = statement.sections[-1].title.lower()
        assert seen.index(last) < seen.index(NOTES.lower()) < seen.index(GAPS.lower()), fmt


def test_old_shape_figures_are_exact_and_never_added_up(knowledge: Knowledge) -> None:
    statement = compose(lunch_club(), knowledge)
    isolation, volunteering = (s.title for s in statement.sections)
    rows = {(r.objective_title, r.measure): r.figure for r in statement.figures}
    assert rows == {
        (isolation, "People reached"): "1,234",
        (isolation, "Sessions"): "48",
        (isolation, "Volunteers"): "12",
        (isolation, "Volunteer hours"): "1,250.5",
        (isolation, "Spent with local businesses"): "£2,345.67",
        (volunteering, "Volunteers"): "12",
    }
    reach = statement.sections[0].part("reach")
    assert reach is not None and not reach.own
    assert reach.text == ("Here we reached 1,234 people and ran 48 sessions. Our 12 volunteers gave 1,250.5 hours "
                          "of their time. We spent £2,345.67 with local businesses.")
    for fmt, text in all_formats(statement).items():
        for figure in ("1,234", "1,250.5", "£2,345.67"):
            assert figure in text, (fmt, figure)
        # Never added up across objectives (12 + 12 volunteers would over-claim), never rounded.
        assert "24 volunteers" not in text and "1,235" not in text and "1,250.50" not in text


def test_old_shape_whole_numbers_take_the_largest_not_the_sum() -> None:
    data = lunch_club()
    whole = data.whole_numbers()
    assert (whole.people_reached, whole.volunteers, whole.sessions) == (1234, 12, 48)
    assert befriending().whole_numbers() == befriending().numbers


def test_new_shape_figures_once_in_the_opening_as_given(knowledge: Knowledge) -> None:
    statement = compose(befriending(), knowledge)
    figures = [p for p in statement.opening if p.kind == "figures"]
    assert len(figures) == 1 and not figures[0].own
    assert figures[0].text == ("From April 2025 to March 2026, we reached about 140 people. Our 38 volunteers gave "
                               "1,976 hours of their time. We worked with 4 other local organisations and spent "
                               "£1,250.50 with local businesses.")
    assert not any(s.part("reach") for s in statement.sections), "no figures repeated under the objectives"
    assert statement.figures_period == "April 2025 to March 2026"
    rows = [(r.objective_title, r.measure, r.figure) for r in statement.figures]
    assert rows == [(None, "People reached", "about 140"), (None, "Volunteers", "38"),
                    (None, "Volunteer hours", "1,976"), (None, "Spent with local businesses", "£1,250.50"),
                    (None, "Partner organisations", "4")]  # fmt: skip
    text = submit_text(statement)
    for figure in ("about 140", "1,976", "£1,250.50"):
        assert text.count(figure) == 1, figure
    assert "2026-27" not in text
    for fmt, rendered in all_formats(statement).items():
        assert "2026-27" not in rendered, fmt
        assert "Your figures, April 2025 to March 2026" in rendered, fmt


def test_new_shape_who_benefits_and_equality_once(knowledge: Knowledge) -> None:
    statement = compose(befriending(equality_groups=["disability", "low_income"]), knowledge)
    who = [p.text for p in statement.opening if p.kind == "who"]
    assert who == ["Our work benefits older people and people who are lonely or isolated."]
    equality = [p.text for p in statement.opening if p.kind == "equality"]
    assert len(equality) == 1
    assert "Equality Act 2010: age and disability." in equality[0]  # age: from "older people"
    assert "low income" in equality[0].lower()
    for section in statement.sections:
        assert not any(p.kind in ("who", "equality", "figures") for p in section.parts)


def test_over_and_above_is_its_own_sentence_and_nothing_is_left_out(knowledge: Knowledge) -> None:
    statement = compose(befriending(), knowledge)
    first, second = statement.sections
    extra = first.part("over_and_above")
    assert extra is not None and extra.own
    assert extra.text == ("Over and above what we are funded to do: Volunteers make extra calls at Christmas, "
                          "which no grant pays for.")
    assert second.part("over_and_above") is None, '"none" says there is nothing'
    assert any(g.objective_id == second.id and "over and above" in g.problem for g in statement.gaps)
    assert not any(g.objective_id == first.id and "over and above" in g.problem for g in statement.gaps)


def test_own_value_always_with_its_source(knowledge: Knowledge) -> None:
    sports = compose(sports_club(), knowledge)
    own = [r for r in sports.figures if r.measure == "Our own £ value of the work"]
    assert len(own) == 1 and own[0].figure == "£1,800"
    assert own[0].note is not None and "our 2025 accounts" in own[0].note and "not a standard value" in own[0].note
    for fmt, text in all_formats(sports).items():
        assert "our 2025 accounts" in text and "£1,800" in text, fmt
    # New shape: said once in the opening, with its source in the same sentence.
    value = OwnValue(amount=2_300_000, description="our work", source="our 2026 evaluation, page 12")
    data = befriending()
    data.numbers.own_value = value
    opening = compose(data, knowledge).opening
    said = [p.text for p in opening if p.kind == "own_value"]
    assert said == ["We value this work at £2,300,000, a figure from our 2026 evaluation, page 12."]
    # Without a source, the value is not put in the text, and the gap says why.
    data.numbers.own_value = OwnValue(amount=5000, description="our work", source="  ")
    statement = compose(data, knowledge)
    assert "5,000" not in submit_text(statement)
    assert "Your own £ value has no source." in gap_problems(statement)


def test_strengths_follow_the_documented_rule(knowledge: Knowledge) -> None:
    lunch = compose(lunch_club(), knowledge)
    assert [s.strength for s in lunch.sections] == ["evidenced", "partly"]  # survey with 28 of 35; a quote only
    sports = compose(sports_club(), knowledge)
    # an evaluation; records and a case study (stories illustrate); nothing said of a difference, no figures
    assert [s.strength for s in sports.sections] == ["evidenced", "partly", "not_yet"]
    food = compose(food_bank(), knowledge)
    assert [s.strength for s in food.sections] == ["partly", "partly"]  # stories only; figures without records
    assert food.sections[1].part("change") is None
    for statement in (lunch, sports, food):
        for section in statement.sections:
            assert section.evidence_note and section.strength_label in ("Evidenced", "Partly evidenced",
                                                                        "Not yet evidenced")
            for fmt, text in all_formats(statement).items():
                assert section.strength_label in text and section.evidence_note in plain(fmt, text), fmt


def test_food_bank_gaps_are_flagged_with_suggestions(knowledge: Knowledge) -> None:
    statement = compose(food_bank(), knowledge)
    partnership, environment = (s.title for s in statement.sections)
    problems = gap_problems(statement)
    assert "Your figures do not say which 12 months they cover." in problems
    assert f"“{partnership}”: only quotes or case studies show the difference." in problems
    for problem in ("no difference described.", "the commitment has no number to measure it by.",
                    "the commitment has no date.", "nothing says what you do over and above your funding."):
        assert f"“{environment}”: {problem}" in problems, problem
    assert all(g.suggestion and g.suggestion.endswith(".") for g in statement.gaps)
    assert {g.objective_id for g in statement.gaps} == {None, "work_in_partnership", "care_for_environment"}
    for fmt, text in all_formats(statement).items():
        seen = " ".join(plain(fmt, text).split())
        for gap in statement.gaps:
            assert gap.problem in seen and gap.suggestion in seen, (fmt, gap.problem)
        assert "None found" not in seen, fmt


def test_no_gaps_says_none_found(knowledge: Knowledge) -> None:
    data = befriending()
    data.objectives = data.objectives[:1]
    statement = compose(data, knowledge)
    assert statement.gaps == []
    for fmt, text in all_formats(statement).items():
        assert "None found. Read it through once more as the commissioner would." in text, fmt


def test_the_framework_notice_is_printed(knowledge: Knowledge) -> None:
    lunch = compose(lunch_club(), knowledge)
    framework = knowledge.framework("building_social_capital")
    assert framework.is_illustrative and lunch.notice is not None
    assert framework.status_note in lunch.notice
    for fmt, text in all_formats(lunch).items():
        assert "Please note:" in text and "illustrative" in text, fmt
    sports = compose(sports_club(), knowledge)
    official = knowledge.framework("uk_social_value_model")
    if not official.is_illustrative:
        assert sports.notice is None or official.status_note not in sports.notice


# ---- limits --------------------------------------------------------------------------------------


LONG = " ".join(f"Sentence number {n} says a little more about what happens at the club." for n in range(40))


@pytest.mark.parametrize("org", ORGANISATIONS)
def test_word_limit_is_held_and_counted(org: str, knowledge: Knowledge) -> None:
    base = ORGANISATIONS[org]()
    base.objectives[0].activity = LONG
    base.objectives[0].story = LONG
    full = compose(base, knowledge)
    limit = (full.word_count or 0) - 700
    statement = compose(base.model_copy(update={"word_limit": limit}), knowledge)
    txt = str(render(statement, "txt"))
    assert statement.word_count == count_words(body_text(statement)) == count_words(submit_text(statement))
    assert statement.word_count <= limit
    assert statement.within_limit and statement.trimmed and statement.over_by == 0
    assert f"The text to submit is {statement.word_count:,} words (limit {limit:,})." in txt
    assert "shortened to fit" in txt
    # The figures list is never trimmed.
    assert statement.figures == full.figures
    for row in statement.figures:
        assert row.figure in txt
    # Trimmed at sentence boundaries: what is left is the start of the answer, ending a sentence.
    activity = statement.sections[0].part("activity")
    assert activity is not None and activity.trimmed
    assert LONG.startswith(activity.text) and activity.text.endswith(".")
    story = statement.sections[0].part("story")
    assert story is None or story.text.count("Sentence number") == 1


def test_character_limit_is_held(knowledge: Knowledge) -> None:
    base = lunch_club()
    base.objectives[0].change = LONG
    full = compose(base, knowledge)
    limit = (full.char_count or 0) - 1500
    statement = compose(base.model_copy(update={"char_limit": limit}), knowledge)
    assert statement.char_count == len(body_text(statement)) <= limit
    assert statement.within_limit
    change = statement.sections[0].part("change")
    assert change is not None and LONG.startswith(change.text)
    assert f"The text to submit is {statement.char_count:,} characters (limit {limit:,})." in str(
        render(statement, "txt"))


def test_impossible_limit_says_how_far_over(knowledge: Knowledge) -> None:
    statement = compose(food_bank(word_limit=50), knowledge)
    txt = str(render(statement, "txt"))
    assert not statement.within_limit
    assert statement.word_count == count_words(body_text(statement))
    assert statement.over_by == statement.word_count - 50 > 0
    assert f"It is still {statement.over_by:,} words over." in statement.count_line
    assert statement.count_line in txt
    assert "2,150" in txt and "no difference described" in txt


def test_no_limit_still_reports_the_count(knowledge: Knowledge) -> None:
    statement = compose(food_bank(), knowledge)
    txt = str(render(statement, "txt"))
    body = body_text(statement)
    assert statement.word_count == count_words(body) and statement.char_count == len(body)
    assert f"The text to submit is {statement.word_count:,} words." in txt
    assert GAPS in txt and GAPS not in body, "the gaps list is a note, not counted"
    assert not statement.trimmed and statement.within_limit and statement.over_by == 0


# ---- markup is data ----------------------------------------------------------------------------


def marked_up(knowledge: Knowledge, shape: str = "lunch_club") -> tuple[StatementInput, Statement]:
    data = ORGANISATIONS[shape](org_name="Club " + MARKUP, org_what=MARKUP)
    evidence = data.objectives[0]
    evidence.activity = MARKUP
    evidence.over_and_above = MARKUP
    evidence.change = LINE_START_MARKUP
    evidence.evidence_detail = MARKUP
    evidence.story = MARKUP
    evidence.beneficiaries = ["older_people", MARKUP]
    evidence.commitment = Commitment(text=MARKUP, measure=MARKUP, due=date(2026, 1, 2))
    evidence.numbers.own_value = OwnValue(amount=5, description=MARKUP, source=MARKUP)
    data.who_benefits = ["older_people", MARKUP]
    return data, compose(data, knowledge)


@pytest.mark.parametrize("shape", ["lunch_club", "befriending"])
def test_markup_is_literal_in_plain_text_and_docx(shape: str, knowledge: Knowledge) -> None:
    _data, statement = marked_up(knowledge, shape)
    for fmt in ("txt", "docx"):
        text = all_formats(statement)[fmt]
        assert text.count(MARKUP) >= 8, fmt
        assert LINE_START_MARKUP in text, fmt


@pytest.mark.parametrize("shape", ["lunch_club", "befriending"])
def test_markup_is_escaped_in_html_and_the_html_parses(shape: str, knowledge: Knowledge) -> None:
    _data, statement = marked_up(knowledge, shape)
    html = str(render(statement, "html"))
    assert "<script>" not in html and "<b>x</b>" not in html
    text, tags = html_text_and_tags(html)
    assert text.count(MARKUP) >= 8
    assert "script" not in tags and "b" not in tags
    assert tags.count("a") == (1 if statement.framework_url else 0)  # the framework's source, no other link
    checker = _Balanced()
    checker.feed(html)
    checker.close()
    assert checker.errors == [] and checker.open == []
    assert tags.count("h2") == len(statement.sections) + 1 and tags.count("h1") == 1


@pytest.mark.parametrize("shape", ["lunch_club", "befriending"])
def test_markup_is_escaped_in_markdown(shape: str, knowledge: Knowledge) -> None:
    _data, statement = marked_up(knowledge, shape)
    md = str(render(statement, "md"))
    as_html = markdown_as_html(md)
    text, tags = html_text_and_tags(as_html)
    assert text.count(MARKUP) >= 8
    assert LINE_START_MARKUP.replace("\n", "") in text.replace("\n", "")
    for tag in ("a", "code", "script", "b", "s", "del", "ol", "h3", "table"):
        assert tag not in tags, tag
    assert tags.count("blockquote") == 1  # our own framework notice, and no other
    lists = 2 + bool(statement.figures) + bool(statement.working)  # evidence, figures, working, gaps
    assert tags.count("ul") == lists
    assert tags.count("h1") == 1 and tags.count("hr") == 1  # ours; "===" and "---" stayed text
    assert tags.count("h2") == len(statement.sections) + 1  # the objectives, and the notes
    assert tags.count("em") == 2  # ours: the draft line and the source line


@pytest.fixture(scope="module")
def markdown_tags(knowledge: Knowledge):  # type: ignore[no-untyped-def]
    """The tags a statement's Markdown and HTML make when one answer is `answer`."""
    from collections import Counter

    def tags(answer: str) -> tuple[Counter[str], Counter[str], str, str]:
        data = befriending()
        data.objectives[0].activity = answer
        statement = compose(data, knowledge)
        kept = statement.sections[0].part("activity")
        md_text, md_tags = html_text_and_tags(markdown_as_html(str(render(statement, "md"))))
        html_text, html_tags = html_text_and_tags(str(render(statement, "html")))
        ignore = {"p", "br"}  # a blank line in an answer makes a new paragraph, which is fine
        return (Counter(t for t in md_tags if t not in ignore), Counter(t for t in html_tags if t not in ignore),
                " ".join(html_text.split()), " ".join(kept.text.split()) if kept else "")

    return tags


@settings(max_examples=60, deadline=None)
@given(answer=st.text(alphabet="ab *_`[]()<>#|~!&-=>\n1.:", min_size=1, max_size=40))
def test_any_answer_is_never_markup(answer: str, markdown_tags) -> None:  # type: ignore[no-untyped-def]
    """Whatever a person types, the Markdown and the HTML make the same elements as for a plain answer."""
    plain_md, plain_html, _text, _kept = markdown_tags("Plain words.")
    md, html, html_text, kept = markdown_tags("x" + answer + "x")
    assert md == plain_md
    assert html == plain_html
    assert kept in html_text


# ---- Word ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("org", ORGANISATIONS)
def test_docx_has_headings_and_no_tables(org: str, knowledge: Knowledge) -> None:
    statement = compose(ORGANISATIONS[org](), knowledge)
    data = render(statement, "docx")
    assert isinstance(data, bytes) and data[:2] == b"PK"
    document = docx.Document(BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    expected = [f"{statement.org_name}: social value", *[s.title for s in statement.sections], NOTES,
                "How well each paragraph is evidenced"]
    if statement.figures:
        expected.append("Your figures" + (f", {statement.figures_period}" if statement.figures_period else ""))
    if statement.working:
        expected.append("How svbot worked out its numbers")
    expected.append(GAPS)
    assert headings == expected
    assert len(document.tables) == 0, "the figures are a list, not a table"
    paragraphs = [p.text for p in document.paragraphs]
    for section in statement.sections:
        assert section.paragraph in paragraphs
    assert document.core_properties.title == f"{statement.org_name}: social value"


def test_docx_survives_control_characters(knowledge: Knowledge) -> None:
    data = food_bank(org_what="Tab\there, bell\x07 and null\x00 gone.")
    document = docx.Document(BytesIO(bytes(render(compose(data, knowledge), "docx"))))
    assert any("bell and null gone." in p.text for p in document.paragraphs)


# ---- chat chunks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("org", ORGANISATIONS)
@pytest.mark.parametrize("limit", [3000, 4096, 600, 200])
def test_chat_chunks_fit_and_rejoin(org: str, limit: int, knowledge: Knowledge) -> None:
    data = ORGANISATIONS[org]()
    data.objectives[0].activity = LONG
    statement = compose(data, knowledge)
    md = str(render(statement, "md"))
    chunks = chat_chunks(statement, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert " ".join(chunks).split() == md.split()  # nothing lost, no word cut
    if len(md) > limit:
        assert len(chunks) > 1
    assert not any(line.lstrip().startswith("|") for c in chunks for line in c.splitlines()), "no raw tables"


def test_chat_chunks_prefer_paragraph_boundaries(knowledge: Knowledge) -> None:
    statement = compose(lunch_club(), knowledge)
    for chunk in chat_chunks(statement, 1500):
        assert not chunk.startswith((" ", "\n")) and not chunk.endswith((" ", "\n"))
        # Each chunk ends where a paragraph or line of the Markdown ends.
        assert chunk.rsplit("\n", 1)[-1] + "\n" in str(render(statement, "md"))


@settings(max_examples=100, deadline=None)
@given(
    words=st.lists(st.text(alphabet="abcdefghij.!?*_<>|", min_size=1, max_size=12), min_size=1, max_size=80),
    seps=st.lists(st.sampled_from([" ", "\n", "\n\n", ". ", "  "]), min_size=80, max_size=80),
    limit=st.integers(min_value=14, max_value=200),  # longer than any word: none is ever cut
)
def test_split_text_property(words: list[str], seps: list[str], limit: int) -> None:
    text = "".join(w + s for w, s in zip(words, seps, strict=False))
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert " ".join(chunks).split() == text.split()


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(min_value=-10**12, max_value=10**12),
                 st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)))
def test_figures_keep_every_digit(value: int | float) -> None:
    from decimal import Decimal

    shown = format_count(value).replace(",", "")
    assert Decimal(shown) == Decimal(repr(value)) or Decimal(shown) == Decimal(value)
    money = format_money(value).replace(",", "").replace("£", "")
    assert Decimal(money) == Decimal(repr(value)) or Decimal(money) == Decimal(value)


# ---- bad input -------------------------------------------------------------------------------------


def test_unknown_objective_is_a_clear_error(knowledge: Knowledge) -> None:
    data = food_bank(objectives=[ObjectiveEvidence(objective_id="world_peace")])
    with pytest.raises(StatementError, match=r"Unknown objective 'world_peace' for framework 'local_pledge' "
                                             r"\(known: involve_local_people, "):
        compose(data, knowledge)


def test_unknown_framework_evidence_kind_twice_and_bad_limits(knowledge: Knowledge) -> None:
    with pytest.raises(StatementError, match=r"Unknown framework 'nope' \(known: building_social_capital"):
        compose(food_bank(framework_id="nope"), knowledge)
    data = food_bank(objectives=[ObjectiveEvidence(objective_id="spend_locally", evidence_kinds=["gossip"])])
    with pytest.raises(StatementError, match=r"Unknown evidence kind 'gossip'"):
        compose(data, knowledge)
    twice = food_bank(objectives=[ObjectiveEvidence(objective_id="spend_locally")] * 2)
    with pytest.raises(StatementError, match="given twice"):
        compose(twice, knowledge)
    with pytest.raises(StatementError, match="word_limit must be at least 1, not 0"):
        compose(food_bank(word_limit=0), knowledge)


def test_odd_numbers_are_shown_as_given_and_questioned(knowledge: Knowledge) -> None:
    data = food_bank(objectives=[ObjectiveEvidence(
        objective_id="spend_locally", numbers=Numbers(people_reached=-5, local_spend=0.0, partners=0))])
    statement = compose(data, knowledge)
    assert [r.figure for r in statement.figures] == ["-5", "£0", "0"]
    assert "People reached is below zero." in gap_problems(statement)
    assert next(g for g in statement.gaps if g.problem == "People reached is below zero.").suggestion == (
        "Check the figure and give it again as digits.")


@pytest.mark.parametrize("shape", ["food_bank", "befriending"])
def test_empty_statement_still_composes(shape: str, knowledge: Knowledge) -> None:
    statement = compose(ORGANISATIONS[shape](objectives=[]), knowledge)
    assert statement.sections == []
    assert "No objectives chosen." in gap_problems(statement)
    assert submit_text(statement) == statement.opening_paragraph
    for fmt, text in all_formats(statement).items():
        assert "No objectives chosen." in plain(fmt, text), fmt


def test_nothing_at_all_still_composes(knowledge: Knowledge) -> None:
    statement = compose(StatementInput(org_name=" ", framework_id="local_pledge", objectives=[]), knowledge)
    assert statement.org_name == "Our organisation" and statement.opening == [] and submit_text(statement) == ""
    assert statement.word_count == 0
    for fmt, text in all_formats(statement).items():
        assert "Nothing says what your group does." in plain(fmt, text), fmt


# ---- a framework's own template ------------------------------------------------------------------


def own_template_knowledge(tmp_path: Path, body: str) -> Knowledge:
    folder = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), folder)
    (folder / "council.md.j2").write_text(body, encoding="utf-8")
    text = (folder / "local_pledge.yaml").read_text(encoding="utf-8")
    text = text.replace("id: local_pledge\n", "id: council_pledge\ntemplate: council.md.j2\n", 1)
    (folder / "council_pledge.yaml").write_text(text, encoding="utf-8")
    return load_knowledge(folder)


def test_framework_template_overrides_a_block_and_still_escapes(tmp_path: Path) -> None:
    knowledge = own_template_knowledge(
        tmp_path,
        '{% extends "svbot/statement.md.j2" %}\n'
        "{% block title %}# Council social value return: {{ s.org_name }}\n{% endblock %}\n"
        "{% block objective %}\n\n## Objective {{ sec.number }}: {{ sec.title }}\n\n{{ sec.paragraph }}\n"
        "{% endblock %}\n",
    )
    data = food_bank(framework_id="council_pledge", org_name="Food *Bank*")
    data.objectives[0].activity = "A <b>joint</b> *drop-in*."
    statement = compose(data, knowledge)
    md = str(render(statement, "md"))
    assert md.startswith("# Council social value return: Food \\*Bank\\*\n")
    assert "## Objective 1: We work in partnership and share what we have" in md
    assert "A \\<b\\>joint\\</b\\> \\*drop-in\\*." in md
    assert f"## {NOTES}" in md  # the rest comes from the shipped template
    assert str(render(statement, "txt")).startswith("Food *Bank*: social value")  # other formats: ours


def test_framework_template_is_sandboxed(tmp_path: Path) -> None:
    knowledge = own_template_knowledge(tmp_path, "{{ s.__class__.__mro__ }}")
    statement = compose(food_bank(framework_id="council_pledge"), knowledge)
    with pytest.raises(SecurityError):
        render(statement, "md")


def test_unknown_format(knowledge: Knowledge) -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render(compose(food_bank(), knowledge), "pdf")  # type: ignore[arg-type]
