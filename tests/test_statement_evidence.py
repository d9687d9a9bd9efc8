"""The statement's evidence rules, one by one (svbot/statements/compose.py, module docstring), and
what issue 15 asks of it, on the four kinds of group of issue 14: a phone befriending scheme that
knows its numbers, a community garden with only estimates, a money advice service bidding for a
contract, and a parent-and-toddler group that said "I don't know" to most things. The answers are
the ones their transcripts give (tests/test_transcripts.py), as the walk-through stores them.

Also: 500-word limits keep each objective's evidence, every number in the text is one the group
gave (or worked out with the working shown), and svbot's own sentences are plain English.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from svbot.knowledge import Knowledge, load_knowledge
from svbot.paths import knowledge_dir
from svbot.statements import (
    Commitment,
    Numbers,
    ObjectiveEvidence,
    OwnValue,
    Statement,
    StatementInput,
    compose,
    render,
    submit_text,
)
from svbot.statements.text import count_words, format_count, format_money, split_sentences, uk_date


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(knowledge_dir())





def befriending(**changes):
    data = StatementInput(
        org_name="Hove Phone Friends",
        org_what="We phone 140 older people every week for a friendly chat, across Brighton and Hove.",
        size_band="£10,000 to £100,000 a year",
        framework_id="local_pledge",
        period="2026-27",
        who_benefits=["older_people", "people_who_are_isolated"],
        numbers=Numbers(people_reached=140, volunteers=38, volunteer_hours=1976, partners=4, local_spend=1250),
        figures_from=date(2025, 12, 2), figures_to=date(2026, 12, 1),
        objectives=[
            ObjectiveEvidence(
                objective_id="involve_local_people",
                activity="Members chose the topics for our monthly phone-in quiz and 22 of them sit on our "
                         "callers' panel.",
                over_and_above="Volunteers make extra calls at Christmas and on birthdays, which no grant pays for.",
                change="Members say they feel less alone and look forward to the calls.",
                evidence_kinds=["attendance_records", "survey"],
                evidence_detail="In our March survey, 96 of 120 members said they feel less lonely.",
                story="\"I hadn't spoken to anyone for a week before Jean rang,\" said one member, 84.",
                commitment=Commitment(text="Hold 4 members' panel meetings by 31 March 2028, counted in our minutes."),
            ),
            ObjectiveEvidence(
                objective_id="local_opportunities",
                activity="We train volunteers to listen well, and 9 of them went on to paid care work.",
                over_and_above="Volunteers give 2 extra hours a month to mentor new callers.",
                change="Volunteers gain confidence and skills.",
                evidence_kinds=["survey"],
                evidence_detail="In our survey 30 of 38 feel more confident.",
                story="\"Calling Mr P gave me the confidence to apply for a job,\" said a volunteer.",
                commitment=Commitment(text="Train 12 new volunteer callers by the end of March 2028, counted "
                                           "in our training log."),
            ),
            ObjectiveEvidence(
                objective_id="reduce_inequality",
                activity="We call people who cannot get out: most are over 80, and many live with a disability.",
                over_and_above="We lend phones with big buttons to members who need them.",
                change="Members who cannot leave home still hear a friendly voice each week.",
                evidence_kinds=["attendance_records", "quote"],
                story="\"It's the only call I get,\" said one member.",
                commitment=Commitment(text="Lend 20 more big-button phones.", measure="phones lent, from our loan list",
                                      due=date(2027, 12, 31)),
            ),
        ],
    )
    return data.model_copy(update=changes)

def garden(**changes):
    data = StatementInput(
        org_name="Hollingdean Community Garden",
        org_what="We grow food together on an old allotment in Hollingdean, Brighton.",
        framework_id="building_social_capital",
        period="2026-27",
        who_benefits=["families", "whole_community"],
        numbers=Numbers(people_reached=200, volunteers=60, volunteer_hours=3648, partners=25, local_spend=1000,
                        qualifiers={"people_reached": "about", "volunteers": "about", "local_spend": "over"}),
        figures_from=date(2025, 11, 23), figures_to=date(2026, 11, 22),
        objectives=[
            ObjectiveEvidence(
                objective_id="more_volunteering",
                activity="Families grow their own veg in shared beds.",
                over_and_above="Volunteers open up on Sundays, unpaid.",
                change="Families eat more fresh food and know their neighbours.",
                evidence_kinds=["attendance_records"],
                evidence_detail="Our register shows about 40 families come most weeks.",
                commitment=Commitment(text="Run 40 family sessions by next March, counted in our register."),
            ),
            ObjectiveEvidence(
                objective_id="less_isolation",
                activity="Volunteers run open days for the whole street.",
                over_and_above="Volunteers cook a harvest supper each October, unpaid.",
                change="People who had never spoken now garden together.",
                evidence_kinds=["quote"],
                story="\"I know everyone on my road now,\" said one gardener.",
                commitment=Commitment(text="Hold 2 open days.", due=date(2027, 3, 31)),
            ),
        ],
    )
    return data.model_copy(update=changes)

def money_advice(**changes):
    data = StatementInput(
        org_name="Brighton Money Advice",
        org_what="Free debt and benefits advice at our drop-in on London Road, Brighton, and by phone.",
        size_band="over £1 million a year",
        framework_id="uk_social_value_model",
        period="2026-27",
        who_benefits=["people_on_low_incomes", "disabled_people"],
        numbers=Numbers(people_reached=1240, volunteers=14, volunteer_hours=1150, partners=6, local_spend=18400,
                        own_value=OwnValue(amount=2300000, description="the value of our work",
                                           source="Our 2026 evaluation by Sussex Community Research, page 12")),
        figures_from=date(2025, 4, 1), figures_to=date(2026, 3, 31),
        objectives=[
            ObjectiveEvidence(
                objective_id="health_wellbeing",
                activity="We give free debt advice that lifts the stress of money worries.",
                over_and_above="Volunteers run an evening phone line that our contract does not pay for.",
                change="Clients sleep better and feel less anxious once a plan is in place.",
                evidence_kinds=["survey", "external_evaluation"],
                evidence_detail="71% of clients felt less anxious three months on.",
                story="\"I stopped dreading the post,\" said one client.",
                commitment=Commitment(text="Advise 1,500 more people by March 2028, counted in our case system."),
            ),
            ObjectiveEvidence(
                objective_id="community_integration",
                activity="We run budgeting workshops with the food bank and the library.",
                over_and_above="Workshops are extra to our contract, run by volunteers.",
                change="People meet neighbours and find out about other local help.",
                evidence_kinds=["attendance_records"],
                evidence_detail="Our register shows 320 people came to 24 workshops.",
                commitment=Commitment(text="Run 30 workshops with 3 partners, counted in our register.",
                                      due=date(2027, 1, 31)),
            ),
            ObjectiveEvidence(
                objective_id="new_jobs_skills",
                activity="Volunteers train with us as money advisers.",
                over_and_above="We pay for their advice qualification ourselves.",
                change="Volunteers gain a qualification and move into paid advice work.",
                evidence_kinds=["survey"],
                evidence_detail="11 of 14 volunteers passed the qualification, and 4 now work in paid advice jobs.",
                story="\"I came for help with my own debts and now I help others,\" said a volunteer.",
                commitment=Commitment(text="Train 6 more volunteer advisers.", measure="qualifications passed",
                                      due=date(2028, 3, 31)),
            ),
        ],
    )
    return data.model_copy(update=changes)

def toddlers(**changes):
    data = StatementInput(
        org_name="Little Acorns Stay and Play",
        org_what="A parent and toddler group in the church hall on Ditchling Road, Brighton.",
        size_band="under £10,000 a year",
        framework_id="building_social_capital",
        period="2026-27",
        objectives=[
            ObjectiveEvidence(objective_id="more_volunteering",
                              activity="Parents and toddlers play and chat every Thursday morning.",
                              change="Parents feel less alone.", evidence_kinds=["none_yet"]),
            ObjectiveEvidence(objective_id="less_isolation", activity="Parents meet other parents.",
                              change="Parents make friends.", evidence_kinds=["none_yet"]),
        ],
    )
    return data.model_copy(update=changes)

GROUPS = {"befriending": befriending, "garden": garden, "money_advice": money_advice, "toddlers": toddlers}


Group = Callable[..., StatementInput]
GROUPS: dict[str, Group] = {"befriending": befriending, "garden": garden, "money_advice": money_advice,
                            "toddlers": toddlers}  # fmt: skip


def problems(statement: Statement) -> list[str]:
    return [g.problem for g in statement.gaps]


def gaps_for(statement: Statement, objective_id: str) -> list[str]:
    return [g.problem for g in statement.gaps if g.objective_id == objective_id]


def one(objective: ObjectiveEvidence, **changes: Any) -> StatementInput:
    """The befriending scheme with just this objective (its facts kept), changed as given."""
    return befriending(objectives=[objective.model_copy(update=changes)])


def section_of(data: StatementInput, knowledge: Knowledge):  # type: ignore[no-untyped-def]
    statement = compose(data, knowledge)
    return statement, statement.sections[0]


# ---- rule 1: outputs are evidenced by records ----------------------------------------------------


def test_records_evidence_outputs_not_outcomes(knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    # Nothing said of a difference: the paragraph is judged on what we do.
    statement, s = section_of(one(base, change=None, evidence_kinds=["attendance_records"], evidence_detail=None),
                              knowledge)
    assert s.strength == "evidenced"
    assert s.evidence_note == "What you do is backed by figures and your attendance records."
    assert s.part("evidence").text == "Our attendance records show who comes and how often."  # type: ignore[union-attr]
    assert "Your figures are backed by your attendance records." in statement.notes
    # Figures without records, or records without figures: partly.
    _st, s = section_of(one(base, change=None, evidence_kinds=[], evidence_detail=None), knowledge)
    assert s.strength == "partly" and s.evidence_note == "What you do has figures or records, not both."
    assert "Your figures are your own count: a register or sign-in sheet would let you evidence them." in _st.notes
    nothing = one(base, change=None, evidence_kinds=["none_yet"], evidence_detail=None)
    nothing.numbers = Numbers()
    _st, s = section_of(nothing, knowledge)
    assert s.strength == "not_yet" and s.evidence_note == "There are no figures or records for what you do yet."


# ---- rule 2: a difference needs outcome evidence ----------------------------------------------------


def test_attendance_records_and_a_number_do_not_evidence_a_change(knowledge: Knowledge) -> None:
    """Money advice: 'clients are less stressed', with a register of 320 people: not yet evidenced."""
    data = money_advice()
    data.objectives[0] = data.objectives[0].model_copy(update={
        "change": "Clients are less stressed.", "evidence_kinds": ["attendance_records"],
        "evidence_detail": "Our register shows 320 people came to 24 workshops.", "story": None})
    statement = compose(data, knowledge)
    s = statement.sections[0]
    assert s.strength == "not_yet"
    assert s.evidence_note == "Attendance records show who came, not what changed for them."
    assert s.part("evidence").text == "Our attendance records show who comes and how often."  # type: ignore[union-attr]
    assert f"“{s.title}”: no evidence yet of the difference it makes." in gaps_for(statement, s.id)
    assert "evidenced" not in submit_text(statement).lower()
    # The garden's register ("about 40 families come most weeks") is the same: records, not a change.
    assert compose(garden(), knowledge).sections[0].strength == "not_yet"


@pytest.mark.parametrize(("kinds", "detail", "strength", "note"), [
    (["survey"], "In our March survey, 96 of 120 members said they feel less lonely.", "evidenced",
     "The difference it makes is backed by a survey or feedback with a result in numbers."),
    (["survey", "attendance_records"], "7 in 10 felt less lonely.", "evidenced",
     "The difference it makes is backed by a survey or feedback with a result in numbers."),
    (["quote"], "12 members told us they now call each other.", "evidenced",
     "The difference it makes is backed by a survey or feedback with a result in numbers."),
    (["external_evaluation"], None, "evidenced", "The difference it makes is backed by an independent evaluation."),
    (["survey"], None, "partly",
     "You have a survey, but the statement does not yet say what it showed, in numbers."),
    (["survey"], "Most members said they feel less lonely.", "partly",
     "You have a survey, but the statement does not yet say what it showed, in numbers."),
    (["none_yet"], None, "not_yet", "There is no evidence yet of the difference it makes."),
    ([], None, "not_yet", "There is no evidence yet of the difference it makes."),
])  # fmt: skip
def test_a_difference_needs_a_result_in_numbers(kinds: list[str], detail: str | None, strength: str, note: str,
                                                knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    statement, s = section_of(one(base, evidence_kinds=kinds, evidence_detail=detail, story=None), knowledge)
    assert (s.strength, s.evidence_note) == (strength, note)
    gaps = gaps_for(statement, s.id)
    survey_gap = f"“{s.title}”: the statement does not say what your survey showed."
    assert (survey_gap in gaps) == (strength == "partly"), "a survey without its result in numbers is a gap"
    if strength == "partly":
        gap = next(g for g in statement.gaps if g.problem == survey_gap)
        assert gap.suggestion.startswith("Say what it showed, with numbers")
    if strength == "evidenced":
        assert not [g for g in gaps if "evidence" in g or "survey" in g or "quotes" in g]
    if detail:
        assert s.part("result") is not None and s.part("result").text == detail  # type: ignore[union-attr]


# ---- rule 3: a story illustrates ---------------------------------------------------------------------


@pytest.mark.parametrize("kinds", [["quote"], ["case_study"], ["quote", "case_study"],
                                   ["attendance_records", "quote"]])  # fmt: skip
def test_quotes_and_case_studies_only_illustrate(kinds: list[str], knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    statement, s = section_of(one(base, evidence_kinds=kinds, evidence_detail=None), knowledge)
    assert s.strength == "partly"
    assert s.evidence_note == "Quotes and case studies show what the difference looks like, but do not measure it."
    story = s.part("story")
    assert story is not None and story.own
    assert story.text == ("In their own words: \"I hadn't spoken to anyone for a week before Jean rang,\" said one "
                          "member, 84.")
    # Never "None found" while the difference is only illustrated.
    assert f"“{s.title}”: only quotes or case studies show the difference." in gaps_for(statement, s.id)
    assert statement.gaps and "None found" not in str(render(statement, "txt"))


def test_a_story_in_the_groups_words_is_an_example(knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    _st, s = section_of(one(base, story="Mrs P now comes every week and brings her neighbour."), knowledge)
    assert s.part("story").text == "For example: Mrs P now comes every week and brings her neighbour."  # type: ignore[union-attr]


# ---- rule 4: a result says whom it covers --------------------------------------------------------------


def test_28_of_35_is_80_percent_of_those_who_answered(knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    statement, s = section_of(one(base, evidence_detail="28 of 35 members said they feel less lonely."), knowledge)
    coverage = [p for p in s.parts if p.kind == "evidence" and not p.own]
    assert coverage[-1].text == "That is 80% of the 35 who answered."
    assert statement.working == ["28 ÷ 35 = 80%"]
    # 35 is fewer than the 140 people reached: the note says so, and to claim it for no more.
    assert any("covers 35 people, fewer than the 140 you reached" in n for n in statement.notes)
    text = submit_text(statement)
    assert "80% of the 35 who answered" in text
    assert "80% of" not in text.replace("80% of the 35", ""), "never claimed for everyone"
    for fmt in ("md", "txt", "html"):
        assert "28 ÷ 35 = 80%" in str(render(statement, fmt)), fmt


def test_a_result_covering_everyone_gets_no_note(knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    statement, _s = section_of(one(base, evidence_detail="120 out of 140 members said they feel less lonely."),
                               knowledge)
    assert statement.working == ["120 ÷ 140 = 86%"]
    assert not any("fewer than" in n for n in statement.notes)


def test_the_note_uses_an_older_statements_figures(knowledge: Knowledge) -> None:
    """Old shape: people reached under the objective; the result's 35 is still fewer than 1,234."""
    data = StatementInput(org_name="Lunch club", framework_id="building_social_capital", objectives=[
        ObjectiveEvidence(objective_id="less_isolation", numbers=Numbers(people_reached=1234),
                          change="Members feel less lonely.", evidence_kinds=["survey"],
                          evidence_detail="28 of 35 members answered our loneliness question.")])
    statement = compose(data, knowledge)
    assert any("covers 35 people, fewer than the 1,234 you reached" in n for n in statement.notes)


@pytest.mark.parametrize("detail", ["0 of 35 said so.", "40 of 35 said so.", "Most of them said so."])
def test_no_percentage_from_a_result_that_does_not_add_up(detail: str, knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    statement, s = section_of(one(base, evidence_detail=detail), knowledge)
    assert statement.working == [] and "%" not in s.paragraph


# ---- estimates ------------------------------------------------------------------------------------


def test_estimates_read_as_estimates(knowledge: Knowledge) -> None:
    statement = compose(garden(), knowledge)
    figures = next(p.text for p in statement.opening if p.kind == "figures")
    assert figures == ("In the 12 months to 22 November 2026, we reached about 200 people. About 60 volunteers gave "
                       "3,648 hours of their time. We worked with 25 other local organisations and spent over "
                       "£1,000 with local businesses.")
    assert 'Figures you gave as estimates ("about", "over") are written as estimates.' in statement.notes
    shown = {f.measure: f.figure for f in statement.figures}
    assert shown["People reached"] == "about 200" and shown["Spent with local businesses"] == "over £1,000"
    text = submit_text(statement)
    assert not re.search(r"(?<!about )\b200 people", text) and "Our about" not in text


def test_about_140_people(knowledge: Knowledge) -> None:
    data = befriending()
    data.numbers.qualifiers = {"people_reached": "about"}
    text = submit_text(compose(data, knowledge))
    assert "we reached about 140 people" in text


# ---- rule 5: organisation-wide figures once ------------------------------------------------------------


@pytest.mark.parametrize("name", ["befriending", "garden", "money_advice"])
def test_organisation_wide_figures_once_in_the_text(name: str, knowledge: Knowledge) -> None:
    data = GROUPS[name]()
    statement = compose(data, knowledge)
    figures = next(p for p in statement.opening if p.kind == "figures")
    assert not figures.own
    svbots = " ".join(p.text for p in [*statement.opening, *(q for s in statement.sections for q in s.parts)]
                      if not p.own and p.kind != "evidence")  # "79% of the 38 who answered": a survey's  # fmt: skip
    for row in statement.figures:
        assert row.objective_title is None
        exactly = rf"(?<![\d,.£]){re.escape(row.figure)}(?!\d|,\d)"
        assert len(re.findall(exactly, svbots, flags=re.IGNORECASE)) == 1, (row.measure, row.figure)
        where = next(p for p in statement.opening if p.kind == ("own_value" if "£ value" in row.measure else "figures"))
        assert re.search(exactly, where.text, flags=re.IGNORECASE), (row.measure, row.figure)
    assert not any(s.part("reach") for s in statement.sections)


# ---- skipped and unknown answers become gaps -------------------------------------------------------


def test_what_a_commissioner_expects_and_was_skipped_becomes_a_gap(knowledge: Knowledge) -> None:
    statement = compose(toddlers(), knowledge)
    found = problems(statement)
    assert "How many people you reached is missing." in found
    assert "Who benefits is not stated." in found
    for s in statement.sections:
        for problem in ("nothing says what you do over and above your funding.",
                        "no evidence yet of the difference it makes.", "no commitment for the next year."):
            assert f"“{s.title}”: {problem}" in found, (s.id, problem)
    assert all(g.suggestion.strip() for g in statement.gaps)
    suggestion = {g.problem: g.suggestion for g in statement.gaps}
    assert suggestion["How many people you reached is missing."].startswith('A careful estimate is fine: say "about')


@pytest.mark.parametrize(("commitment", "missing"), [
    (Commitment(text="Lend more big-button phones."), ["no number", "no date"]),
    (Commitment(text="Lend 20 more big-button phones."), ["no date"]),
    (Commitment(text="Lend more phones.", measure="phones lent, from our loan list"), ["no date"]),
    (Commitment(text="Lend more phones by March 2028."), ["no number"]),
    (Commitment(text="Lend 20 more phones.", due=date(2027, 12, 31)), []),
    (Commitment(text="none"), ["no commitment"]),
    (Commitment(), ["no commitment"]),
])  # fmt: skip
def test_a_commitment_needs_a_number_and_a_date(commitment: Commitment, missing: list[str],
                                                knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    statement, s = section_of(one(base, commitment=commitment), knowledge)
    gaps = " ".join(gaps_for(statement, s.id))
    assert ("no number to measure it by" in gaps) == ("no number" in missing)
    assert ("the commitment has no date" in gaps) == ("no date" in missing)
    assert ("no commitment for the next year" in gaps) == ("no commitment" in missing)
    if commitment.due:
        assert s.part("commitment_detail").text.endswith(f"We will do this by {uk_date(commitment.due)}.")  # type: ignore[union-attr]


@pytest.mark.parametrize("answer", [None, "none", "No.", "n/a", "not sure", "I don't know", "no idea", "dunno"])
def test_no_over_and_above_is_a_gap(answer: str | None, knowledge: Knowledge) -> None:
    base = befriending().objectives[0]
    statement, s = section_of(one(base, over_and_above=answer), knowledge)
    assert s.part("over_and_above") is None
    wanted = f"“{s.title}”: nothing says what you do over and above your funding."
    gap = next(g for g in statement.gaps if g.problem == wanted)
    assert "volunteers' time" in gap.suggestion


def test_no_period_is_a_gap(knowledge: Knowledge) -> None:
    statement = compose(befriending(figures_from=None, figures_to=None), knowledge)
    assert statement.figures_period is None
    assert "Your figures do not say which 12 months they cover." in problems(statement)
    assert "2026-27" not in submit_text(statement)
    figures = next(p.text for p in statement.opening if p.kind == "figures")
    assert figures.startswith("We reached 140 people.")


def test_no_gaps_only_when_every_claim_has_outcome_evidence(knowledge: Knowledge) -> None:
    for name, group in GROUPS.items():
        statement = compose(group(), knowledge)
        for s in statement.sections:
            if s.part("change") is not None and s.strength != "evidenced":
                assert gaps_for(statement, s.id), (name, s.id, "a claim without outcome evidence is a gap")
        txt = str(render(statement, "txt"))
        assert ("None found" in txt) == (not statement.gaps), name


# ---- the period -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "words"), [
    (date(2025, 4, 1), date(2026, 3, 31), "April 2025 to March 2026"),
    (date(2025, 12, 2), date(2026, 12, 1), "the 12 months to 1 December 2026"),
    (date(2025, 1, 1), date(2025, 12, 31), "January 2025 to December 2025"),
    (date(2025, 6, 15), date(2026, 1, 10), "15 June 2025 to 10 January 2026"),
])  # fmt: skip
def test_the_period_is_the_one_the_figures_are_for(start: date, end: date, words: str,
                                                   knowledge: Knowledge) -> None:
    data = befriending(figures_from=start, figures_to=end, period="2026-27")  # made in 2026-27: never said
    statement = compose(data, knowledge)
    assert statement.figures_period == words
    figures = next(p.text for p in statement.opening if p.kind == "figures")
    assert words in figures
    for fmt in ("md", "txt", "html"):
        text = str(render(statement, fmt))
        assert "2026-27" not in text and "2026/27" not in text, fmt
        assert "Period:" not in text, fmt


# ---- word limits: the four groups at 500 words ------------------------------------------------------

MORE = {  # what a real answer goes on to say, a sentence or two more
    "activity": " We keep a list of who we call and when. New members join from GP surgeries and from friends.",
    "change": " People tell us this in their own words. Families and carers notice it too.",
    "evidence_detail": " We ask the same question every year, so we can compare.",
    "story": " She had not left the house since the winter. Now she comes to our summer tea as well.",
    "over_and_above": " Nobody pays for this part of the work.",
}


def wordy(data: StatementInput) -> StatementInput:
    """The group's answers as a chatty person gives them: each goes on for a sentence or two more."""
    data = data.model_copy(deep=True)
    data.org_what = (data.org_what or "") + " We started in 2019 in a church hall, and we are still run by volunteers."
    for ev in data.objectives:
        for field, more in MORE.items():
            value = getattr(ev, field)
            if value:
                setattr(ev, field, value + more)
        if ev.commitment.text:
            ev.commitment.text += " We will report on it to our trustees each quarter."
    return data


def first_sentence(text: str) -> str:
    return split_sentences(text)[0]


@pytest.mark.parametrize("name", GROUPS)
def test_500_words_keep_each_objectives_evidence(name: str, knowledge: Knowledge) -> None:
    data = wordy(GROUPS[name]())
    full = compose(data, knowledge)
    fitted = compose(data.model_copy(update={"word_limit": 500}), knowledge)
    if (full.word_count or 0) <= 500:
        assert fitted.sections == full.sections and not fitted.trimmed
        return
    assert fitted.trimmed
    for before, after in zip(full.sections, fitted.sections, strict=True):
        for kind in ("activity", "change", "result", "commitment", "commitment_detail", "over_and_above"):
            was = before.part(kind)
            if was is None:
                continue
            now = after.part(kind)
            assert now is not None, (after.id, kind)
            assert now.text.startswith(first_sentence(was.text)), (after.id, kind)
            assert was.text.startswith(now.text), (after.id, kind, "cut at a sentence's end, never reworded")
    assert fitted.figures == full.figures and fitted.working == full.working
    for figure in fitted.figures:
        assert figure.figure in submit_text(fitted), figure
    assert fitted.word_count == count_words(submit_text(fitted))
    if fitted.within_limit:
        assert fitted.word_count <= 500 and fitted.over_by == 0
    else:
        assert fitted.over_by == fitted.word_count - 500 > 0


def test_a_three_objective_bid_fits_500_words_with_its_evidence(knowledge: Knowledge) -> None:
    data = wordy(money_advice())
    full = compose(data, knowledge)
    assert len(data.objectives) == 3 and (full.word_count or 0) > 500
    fitted = compose(data.model_copy(update={"word_limit": 500}), knowledge)
    assert fitted.within_limit and fitted.word_count <= 500  # type: ignore[operator]
    text = submit_text(fitted)
    for answer in ("71% of clients felt less anxious three months on.",
                   "Our register shows 320 people came to 24 workshops.",
                   "11 of 14 volunteers passed the qualification, and 4 now work in paid advice jobs.",
                   "Advise 1,500 more people by March 2028, counted in our case system.",
                   "That is 79% of the 14 who answered."):  # fmt: skip
        assert answer in text, answer
    assert "The text to submit is" in fitted.count_line and "(limit 500)" in fitted.count_line


def test_svbots_own_sentences_go_first(knowledge: Knowledge) -> None:
    """Equality and per-objective figures go before a word of the group's own answers."""
    data = money_advice()
    data.objectives[0].numbers = Numbers(people_reached=300)  # an objective's own figure: a "reach" sentence
    full = compose(data, knowledge)
    assert any(p.kind == "equality" for p in full.opening) and full.sections[0].part("reach") is not None
    dropped = count_words(next(p.text for p in full.opening if p.kind == "equality"))
    fitted = compose(data.model_copy(update={"word_limit": (full.word_count or 0) - dropped}), knowledge)
    assert fitted.within_limit and fitted.trimmed
    assert not any(p.kind == "equality" for p in fitted.opening)
    assert fitted.sections[0].part("reach") is not None, "the equality sentence alone was enough"
    own = lambda st: [p.text for p in [*st.opening, *(q for s in st.sections for q in s.parts)] if p.own]  # noqa: E731
    assert own(fitted) == own(full), "no answer was touched"
    tighter = compose(data.model_copy(update={"word_limit": (full.word_count or 0) - dropped - 1}), knowledge)
    assert tighter.sections[0].part("reach") is None
    assert own(tighter) == own(full)


def test_a_story_shrinks_to_one_sentence_before_it_goes(knowledge: Knowledge) -> None:
    data = wordy(befriending())
    full = compose(data, knowledge)
    story = full.sections[0].part("story")
    assert story is not None and len(split_sentences(story.text)) > 1
    # Over by the equality sentence and the stories' later sentences: the stories shrink to one
    # sentence each, and every other answer is whole.
    step1 = sum(count_words(p.text) for p in full.opening if p.kind == "equality")
    stories = sum(1 for s in full.sections if s.part("story"))
    limit = (full.word_count or 0) - step1 - stories * count_words(MORE["story"])
    fitted = compose(data.model_copy(update={"word_limit": limit}), knowledge)
    assert fitted.within_limit and fitted.word_count == limit
    shrunk = fitted.sections[0].part("story")
    assert shrunk is not None and shrunk.trimmed and len(split_sentences(shrunk.text)) == 1
    assert story.text.startswith(shrunk.text)
    for before, after in zip(full.sections, fitted.sections, strict=True):
        for kind in ("activity", "change", "result", "commitment"):
            if before.part(kind):
                assert after.part(kind).text == before.part(kind).text  # type: ignore[union-attr]
    assert not any("story was left out" in p for p in problems(fitted))


def test_when_it_cannot_fit_it_says_how_far_over_and_cuts_no_more(knowledge: Knowledge) -> None:
    data = wordy(money_advice())
    fitted = compose(data.model_copy(update={"word_limit": 150}), knowledge)
    assert not fitted.within_limit
    assert fitted.over_by == (fitted.word_count or 0) - 150 > 0
    assert f"It is still {fitted.over_by:,} words over." in fitted.count_line
    assert f"It is still {fitted.over_by:,} words over." in str(render(fitted, "txt"))
    # Nothing more was cut than the documented order allows: every answer keeps its first sentence.
    full = compose(data, knowledge)
    for before, after in zip(full.sections, fitted.sections, strict=True):
        for part in before.parts:
            if part.kind == "story":
                assert after.part("story") is None
                continue
            kept = next((p for p in after.parts if p.kind == part.kind and p.own == part.own
                         and part.text.startswith(p.text)), None)
            if part.kind == "reach":
                continue
            assert kept is not None and kept.text.startswith(first_sentence(part.text)), (after.id, part.kind)
    # The stories cut to fit are listed as gaps: the gaps are worked out on the final text.
    for s in fitted.sections:
        if next(ev for ev in data.objectives if ev.objective_id == s.id).story:
            assert f"“{s.title}”: your story was left out to fit the word limit." in gaps_for(fitted, s.id)


# ---- every number is one the group gave ---------------------------------------------------------------

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
FIXED = {"2010"}  # in the name of the Equality Act 2010, which svbot cites: not a figure


def numbers_in(text: str) -> set[str]:
    return {m.replace(",", "").rstrip(",") for m in _NUMBER.findall(text)}


def given_numbers(data: StatementInput) -> set[str]:
    """Every number in the group's answers: typed in a sentence, or given as a figure."""
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str):
            found.update(numbers_in(value))
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            found.update(numbers_in(format_count(value)) | numbers_in(format_money(value)))

    walk(data.model_dump(mode="python", exclude={"figures_from", "figures_to", "word_limit", "char_limit"}))
    return found


def allowed_numbers(data: StatementInput, statement: Statement) -> set[str]:
    allowed = given_numbers(data) | FIXED
    allowed |= numbers_in(statement.figures_period or "")
    for ev in data.objectives:
        if ev.commitment.due:
            allowed |= numbers_in(uk_date(ev.commitment.due))
    for line in statement.working:
        allowed |= numbers_in(line)
    for s in statement.sections:  # the funder's own wording of an objective ("COVID-19")
        allowed |= numbers_in(s.title)
    return allowed


@pytest.mark.parametrize("name", GROUPS)
@pytest.mark.parametrize("limit", [None, 500])
def test_every_number_is_one_the_group_gave(name: str, limit: int | None, knowledge: Knowledge) -> None:
    data = wordy(GROUPS[name]()).model_copy(update={"word_limit": limit})
    statement = compose(data, knowledge)
    allowed = allowed_numbers(data, statement)
    shown = numbers_in(submit_text(statement))
    for row in statement.figures:
        shown |= numbers_in(f"{row.figure} {row.note or ''}")
    assert shown - allowed == set(), f"numbers nobody gave: {sorted(shown - allowed)}"


def test_a_worked_out_number_shows_its_working(knowledge: Knowledge) -> None:
    data = befriending()
    statement = compose(data, knowledge)
    text_numbers = numbers_in(submit_text(statement))
    assert "79" in text_numbers and "79" not in given_numbers(data)
    assert statement.working == ["96 ÷ 120 = 80%", "30 ÷ 38 = 79%"]


# ---- plain words ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flesch() -> Callable[[str], float]:
    """textstat's Flesch reading ease. Its English syllable counts come from NLTK's CMU dictionary,
    which it downloads on first use; offline (as tests run), words are split by pyphen's hyphenation
    dictionary instead, as textstat itself does for a word the CMU dictionary does not have."""
    textstat = pytest.importorskip("textstat")
    import nltk

    try:
        nltk.data.find("corpora/cmudict")
    except LookupError:
        from textstat.backend.counts import _count_syllables

        _count_syllables.get_cmudict = lambda lang: None  # type: ignore[assignment]
    return textstat.flesch_reading_ease  # type: ignore[no-any-return]


def svbots_sentences(data: StatementInput, statement: Statement) -> list[str]:
    """svbot's own sentences: its Parts (own=False), evidence notes and gaps, with the group's words
    and the funder's objective titles taken out (only svbot's words are scored)."""
    theirs = [s.title for s in statement.sections]
    for value in (data.numbers.own_value.source if data.numbers.own_value else None,):
        if value:
            theirs.append(value)
    texts = [p.text for p in [*statement.opening, *(q for s in statement.sections for q in s.parts)] if not p.own]
    texts += [s.evidence_note for s in statement.sections]
    texts += [t for g in statement.gaps for t in (g.problem, g.suggestion)]
    out = []
    for text in texts:
        for words in theirs:
            text = text.replace(f"“{words}”", "This").replace(words, "it")
        out.append(text)
    return out


@pytest.mark.parametrize("name", GROUPS)
def test_svbots_own_sentences_are_plain_english(name: str, flesch: Callable[[str], float],
                                               knowledge: Knowledge) -> None:
    data = GROUPS[name]()
    statement = compose(data, knowledge)
    sentences = svbots_sentences(data, statement)
    score = flesch(" ".join(sentences))
    hardest = sorted(sentences, key=flesch)[:3]
    assert score >= 60, f"Flesch reading ease {score:.0f} < 60; hardest: {hardest}"
