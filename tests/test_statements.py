"""The draft evidence statement for three different organisations, in all four formats."""

from __future__ import annotations

import re
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
)
from svbot.statements.text import count_words, format_count, format_money, split_text

# Markdown, HTML, Slack mrkdwn and Telegram markup in one answer.
MARKUP = (
    '*bold* _it_ **strong** `code` [link](https://evil.example) <b>x</b> <script>alert(1)</script> '
    '&amp; <!here> <https://evil.example|click> ~strike~ ||spoiler|| # not a heading'
)
LINE_START_MARKUP = "- not a list\n1. not numbered\n> not a quote\n===\nnot a heading\n---"


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


ORGANISATIONS = {"lunch_club": lunch_club, "sports_club": sports_club, "food_bank": food_bank}


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


# ---- the three organisations -------------------------------------------------------------------


@pytest.mark.parametrize("org", ORGANISATIONS)
def test_objectives_present_in_every_format(org: str, knowledge: Knowledge) -> None:
    data = ORGANISATIONS[org]()
    statement = compose(data, knowledge)
    framework = knowledge.framework(data.framework_id)
    titles = [framework.objective(o.objective_id).title for o in data.objectives]
    assert [s.title for s in statement.sections] == titles
    for fmt, text in all_formats(statement).items():
        plain = html_text_and_tags(text)[0] if fmt == "html" else text
        plain = plain.replace("\\", "") if fmt == "md" else plain
        for number, title in enumerate(titles, start=1):
            assert f"{number}. {title}" in plain, (fmt, title)
        assert data.org_name in plain.replace("&#39;", "'"), fmt
        assert "None" not in plain.split(), fmt


def test_lunch_club_numbers_are_exact(knowledge: Knowledge) -> None:
    statement = compose(lunch_club(), knowledge)
    rows = {(r.objective_id, r.measure): r.figure for r in statement.numbers}
    assert rows == {
        ("less_isolation", "People reached"): "1,234",
        ("less_isolation", "Sessions"): "48",
        ("less_isolation", "Volunteers"): "12",
        ("less_isolation", "Volunteer hours"): "1,250.5",
        ("less_isolation", "Spent locally"): "£2,345.67",
        ("more_volunteering", "Volunteers"): "12",
    }
    for fmt, text in all_formats(statement).items():
        for figure in ("1,234", "1,250.5", "£2,345.67"):
            assert figure in text, (fmt, figure)
        # Never added up across objectives (12 + 12 volunteers would over-claim).
        assert "24 volunteers" not in text and "1,235" not in text and "1,250.50" not in text


def test_sports_club_own_value_keeps_its_source(knowledge: Knowledge) -> None:
    statement = compose(sports_club(), knowledge)
    own = [r for r in statement.numbers if r.measure.startswith("Our own valuation")]
    assert len(own) == 1
    assert own[0].figure == "£1,800"
    assert own[0].note is not None and "our 2025 accounts" in own[0].note
    assert "675 volunteer hours" in (statement.sections[0].numbers_text or "")
    for fmt, text in all_formats(statement).items():
        assert "our 2025 accounts" in text and "£1,800" in text, fmt


def test_strengths_follow_the_documented_rule(knowledge: Knowledge) -> None:
    lunch = compose(lunch_club(), knowledge)
    assert [s.strength for s in lunch.sections] == ["evidenced", "partly"]  # survey+numbers; quote only
    sports = compose(sports_club(), knowledge)
    assert [s.strength for s in sports.sections] == ["evidenced", "evidenced", "not_yet"]
    assert sports.sections[2].activity is not None and sports.sections[2].activity.strength == "not_yet"
    food = compose(food_bank(), knowledge)
    assert [s.strength for s in food.sections] == ["partly", "partly"]  # stories only; numbers only
    assert food.sections[1].difference is None


@pytest.mark.parametrize(
    ("kinds", "numbers", "expected"),
    [
        (["external_evaluation"], Numbers(), "evidenced"),
        (["survey"], Numbers(people_reached=3), "evidenced"),
        (["attendance_records"], Numbers(sessions=0), "evidenced"),
        (["survey"], Numbers(), "partly"),
        (["attendance_records"], Numbers(), "partly"),
        (["quote", "case_study"], Numbers(people_reached=3), "partly"),
        (["none_yet"], Numbers(people_reached=3), "not_yet"),
        ([], Numbers(people_reached=3), "not_yet"),
    ],
)
def test_difference_strength_rule(kinds: list[str], numbers: Numbers, expected: str,
                                  knowledge: Knowledge) -> None:
    data = lunch_club(objectives=[ObjectiveEvidence(objective_id="less_isolation", change="Less lonely.",
                                                    evidence_kinds=kinds, numbers=numbers)])
    section = compose(data, knowledge).sections[0]
    assert section.difference is not None and section.difference.strength == expected
    assert section.strength == expected


def gap_problems(statement: Statement) -> list[str]:
    return [g.problem for g in statement.gaps]


def test_food_bank_gaps_are_flagged_with_suggestions(knowledge: Knowledge) -> None:
    statement = compose(food_bank(), knowledge)
    environment = "We look after our local environment"
    partnership = "We work in partnership and share what we have"
    problems = gap_problems(statement)
    assert f"No evidence given for {environment}." in problems
    assert f"No difference described for {environment}." in problems
    assert f"The commitment for {environment} has no date." in problems
    assert f"The commitment for {environment} has no number to measure it by." in problems
    assert f"Who benefits is not stated for {environment}." in problems
    assert any(p.startswith(f"The evidence for {partnership} is quotes or case studies only") for p in problems)
    assert not any(partnership in p and "No numbers" in p for p in problems)
    assert all(g.suggestion for g in statement.gaps)
    for fmt, text in all_formats(statement).items():
        plain = text.replace("\\", "").replace("&#39;", "'")
        assert f"No evidence given for {environment}." in plain, fmt
        assert "Suggestion:" in plain, fmt


def test_lunch_club_gaps(knowledge: Knowledge) -> None:
    problems = gap_problems(compose(lunch_club(), knowledge))
    volunteering = "More people give their time and take part in community life"
    assert problems == [
        f"The evidence for {volunteering} is quotes or case studies only, so it is partly evidenced.",
        f"The commitment for {volunteering} has no date.",
    ]


def test_sports_club_gaps_and_missing_period(knowledge: Knowledge) -> None:
    statement = compose(sports_club(period=None), knowledge)
    problems = gap_problems(statement)
    assert problems[0] == "No period given for the figures."
    integration = "Improve community integration"
    assert f"No numbers for {integration}." in problems
    assert f"No evidence given for {integration}." in problems
    assert f"No commitment for the next period for {integration}." in problems


def test_illustrative_note_only_for_illustrative_frameworks(knowledge: Knowledge) -> None:
    lunch = compose(lunch_club(), knowledge)
    assert lunch.illustrative_note == knowledge.framework("building_social_capital").status_note
    for fmt, text in all_formats(lunch).items():
        assert "illustrative starter set" in text, fmt
    sports = compose(sports_club(), knowledge)
    assert sports.illustrative_note is None
    assert "illustrative" not in render(sports, "txt")


def test_summary_counts_strengths_without_adding_numbers(knowledge: Knowledge) -> None:
    summary = compose(sports_club(), knowledge).summary
    assert summary.startswith("Northfield Youth FC in Birmingham supports 3 objectives of Social Value Model")
    assert "Of these, 2 are evidenced and 1 is not yet evidenced." in summary


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
    txt = render(statement, "txt")
    assert isinstance(txt, str)
    assert statement.word_count == count_words(body_text(statement)) <= limit
    assert statement.within_limit and statement.trimmed
    assert f"This draft uses {statement.word_count} words (limit {limit})" in txt
    # Numbers and gaps are never dropped.
    assert [r.figure for r in statement.numbers] == [r.figure for r in full.numbers]
    assert statement.gaps == full.gaps
    for row in statement.numbers:
        assert row.figure in txt
    # Trimmed at sentence boundaries: what is left is the start of the answer, ending a sentence.
    activity = statement.sections[0].activity
    assert activity is not None and LONG.startswith(activity.text) and activity.text.endswith(".")


def test_character_limit_is_held(knowledge: Knowledge) -> None:
    base = lunch_club()
    base.objectives[0].change = LONG
    full = compose(base, knowledge)
    limit = (full.char_count or 0) - 1500
    statement = compose(base.model_copy(update={"char_limit": limit}), knowledge)
    txt = render(statement, "txt")
    assert isinstance(txt, str)
    assert statement.char_count == len(body_text(statement)) <= limit
    difference = statement.sections[0].difference
    assert difference is not None and LONG.startswith(difference.text)


def test_impossible_limit_says_so_and_keeps_numbers_and_gaps(knowledge: Knowledge) -> None:
    statement = compose(food_bank(word_limit=50), knowledge)
    txt = render(statement, "txt")
    assert not statement.within_limit
    assert statement.word_count == count_words(body_text(statement))
    assert "still over the limit" in str(txt)
    assert "2,150" in str(txt) and "No evidence given for" in str(txt)


def test_no_limit_still_reports_the_count(knowledge: Knowledge) -> None:
    statement = compose(food_bank(), knowledge)
    txt = str(render(statement, "txt"))
    body = body_text(statement)
    assert statement.word_count == count_words(body) and statement.char_count == len(body)
    assert "GAPS TO CLOSE" in txt and "GAPS TO CLOSE" not in body, "the gaps list is a note, not counted"
    assert not statement.trimmed and statement.within_limit


# ---- markup is data ----------------------------------------------------------------------------


def marked_up(knowledge: Knowledge) -> tuple[StatementInput, Statement]:
    data = lunch_club(org_name="Club " + MARKUP)
    evidence = data.objectives[0]
    evidence.activity = MARKUP
    evidence.change = LINE_START_MARKUP
    evidence.story = MARKUP
    evidence.beneficiaries = ["older_people", MARKUP]
    evidence.commitment = Commitment(text=MARKUP, measure=MARKUP, due=date(2026, 1, 2))
    evidence.numbers.own_value = OwnValue(amount=5, description=MARKUP, source=MARKUP)
    return data, compose(data, knowledge)


def test_markup_is_literal_in_plain_text_and_docx(knowledge: Knowledge) -> None:
    _data, statement = marked_up(knowledge)
    for fmt in ("txt", "docx"):
        text = all_formats(statement)[fmt]
        assert text.count(MARKUP) >= 6, fmt
        assert LINE_START_MARKUP in text, fmt


def test_markup_is_escaped_in_html(knowledge: Knowledge) -> None:
    _data, statement = marked_up(knowledge)
    html = str(render(statement, "html"))
    assert "<script>" not in html and "<b>x</b>" not in html
    text, tags = html_text_and_tags(html)
    assert text.count(MARKUP) >= 6
    assert "script" not in tags and "b" not in tags
    assert tags.count("a") == 0  # the illustrative framework has no URL: no links at all


def test_markup_is_escaped_in_markdown(knowledge: Knowledge) -> None:
    _data, statement = marked_up(knowledge)
    md = str(render(statement, "md"))
    as_html = markdown_as_html(md)
    text, tags = html_text_and_tags(as_html)
    assert text.count(MARKUP) >= 6
    assert LINE_START_MARKUP.replace("\n", "") in text.replace("\n", "")
    for tag in ("a", "em", "code", "script", "b", "s", "del", "ol", "h3"):
        assert tag not in tags, tag
    assert "blockquote" in tags  # our own illustrative note, and no other
    assert tags.count("blockquote") == 1
    assert tags.count("ul") == 1  # the gaps list only
    assert tags.count("h1") == 1 and tags.count("hr") == 1  # ours; "===" and "---" stayed text
    assert tags.count("h2") == 1 + len(statement.sections) + 2  # summary, sections, numbers, gaps
    # The table survives a pipe in a cell: still three columns in every row.
    table_rows = re.findall(r"<tr>(.*?)</tr>", as_html, flags=re.S)
    assert table_rows and all(row.count("<td>") + row.count("<th>") == 3 for row in table_rows)


# ---- Word ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("org", ORGANISATIONS)
def test_docx_has_headings_and_numbers_table(org: str, knowledge: Knowledge) -> None:
    statement = compose(ORGANISATIONS[org](), knowledge)
    data = render(statement, "docx")
    assert isinstance(data, bytes) and data[:2] == b"PK"
    document = docx.Document(BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    expected = [f"Social value statement: {statement.org_name}", "Summary",
                *[f"{s.number}. {s.title}" for s in statement.sections],
                "The numbers", "Gaps to close before you submit"]
    assert headings == expected
    assert len(document.tables) == 1
    rows = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert rows[0] == ["Objective", "Measure", "Figure"]
    assert [r[2] for r in rows[1:]] == [n.figure for n in statement.numbers]
    assert document.core_properties.title == f"Social value statement: {statement.org_name}"


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


def test_unknown_framework_and_evidence_kind(knowledge: Knowledge) -> None:
    with pytest.raises(StatementError, match=r"Unknown framework 'nope' \(known: building_social_capital"):
        compose(food_bank(framework_id="nope"), knowledge)
    data = food_bank(objectives=[ObjectiveEvidence(objective_id="spend_locally", evidence_kinds=["gossip"])])
    with pytest.raises(StatementError, match=r"Unknown evidence kind 'gossip'"):
        compose(data, knowledge)
    twice = food_bank(objectives=[ObjectiveEvidence(objective_id="spend_locally")] * 2)
    with pytest.raises(StatementError, match="given twice"):
        compose(twice, knowledge)


def test_odd_numbers_are_shown_as_given_and_questioned(knowledge: Knowledge) -> None:
    data = food_bank(objectives=[ObjectiveEvidence(
        objective_id="spend_locally", numbers=Numbers(people_reached=-5, local_spend=0.0, partners=0))])
    statement = compose(data, knowledge)
    assert [r.figure for r in statement.numbers] == ["-5", "£0", "0"]
    assert "People reached for We spend locally and support small local organisations is below zero." in (
        gap_problems(statement))


def test_empty_statement_still_composes(knowledge: Knowledge) -> None:
    statement = compose(food_bank(objectives=[]), knowledge)
    assert "No objectives chosen." in gap_problems(statement)
    assert "has not yet chosen objectives" in statement.summary
    for text in all_formats(statement).values():
        assert "No figures given yet." in text


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
        "{% block title %}# Council social value return: {{ s.org_name }}\n{% endblock %}\n",
    )
    statement = compose(food_bank(framework_id="council_pledge", org_name="Food *Bank*"), knowledge)
    md = str(render(statement, "md"))
    assert md.startswith("# Council social value return: Food \\*Bank\\*\n")
    assert "## The numbers" in md  # the rest comes from the shipped template
    assert str(render(statement, "txt")).startswith("SOCIAL VALUE STATEMENT")  # other formats: ours


def test_framework_template_is_sandboxed(tmp_path: Path) -> None:
    knowledge = own_template_knowledge(tmp_path, "{{ s.__class__.__mro__ }}")
    statement = compose(food_bank(framework_id="council_pledge"), knowledge)
    with pytest.raises(SecurityError):
        render(statement, "md")


def test_unknown_format(knowledge: Knowledge) -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render(compose(food_bank(), knowledge), "pdf")  # type: ignore[arg-type]
