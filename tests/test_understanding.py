"""Answers understood as a person means them (issue 14, item 3), through the engine and through the
turn handler: the number kept with its "about", and "I don't know" taken wherever a skip, "none
yet" or "not sure" would do.

The dialogues are small ones of our own, written here, so these tests do not move when the shipped
walk-through (dialogues/social_value.yaml) does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from svbot.dialogue import prompts
from svbot.dialogue.answers import format_money, qualified, qualifier_key
from svbot.dialogue.engine import Engine, Result
from svbot.dialogue.run import Run
from svbot.dialogue.spec import load_dialogues
from svbot.dialogue.state import ANY_ITEM, ConvState, Mode
from svbot.models import Answer
from tests.scenario import START, ScenarioBot, make_bot

FACTS = """
id: facts
title: Facts about your group
steps:
  - {id: name, ask: "What is your group called?", type: text, max_chars: 80}
  - {id: people, ask: "How many people did you reach?", type: integer, min: 0, optional: true, label: People reached}
  - {id: volunteers, ask: "How many volunteers help?", type: integer, min: 0, label: Volunteers}
  - {id: spend, ask: "How much did you spend locally?", type: money, optional: true, label: Local spend}
  - {id: hours, ask: "How many hours a year?", type: number, min: 0, optional: true, label: Hours}
  - {id: due, ask: "By when will you do it?", type: date, optional: true, label: By when}
  - id: who
    ask: Who benefits?
    label: Who benefits
    type: multi_choice
    optional: true
    options:
      - {value: older, label: Older people}
      - {value: young, label: Young people}
      - {value: carers, label: Carers}
  - id: evidence_kinds
    ask: How do you know it makes that difference? Choose all that apply.
    label: How you know
    type: multi_choice
    options:
      - {value: survey, label: Survey or questionnaire}
      - {value: case_study, label: Case study}
      - {value: none_yet, label: None yet}
  - {id: story, ask: "Tell me a story, if you have one.", type: long_text, optional: true, label: Story}
  - {id: size, ask: "How big is your group?", type: choice, label: Size,
     options: [{value: micro, label: "Under £10,000 a year"}, {value: small, label: "£10,000 or more"}]}
  - {id: review, type: review, ask: "Here's what you told me:"}
done: "Thanks!"
"""

# The same number asked about each objective: an answer from the evidence bank is offered again
# under another objective, with its "about".
PER_OBJECTIVE = """
id: per_objective
title: Per objective
steps:
  - id: objectives
    ask: Which objectives?
    type: multi_choice
    options: [{value: loneliness, label: Loneliness}, {value: health, label: Health}]
  - id: per
    for_each: objectives
    steps:
      - {id: people, ask: "How many people, for {{ item.label }}?", type: integer, min: 0, optional: true}
  - {id: review, type: review, ask: "Here's what you told me:"}
"""


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    (tmp_path / "facts.yaml").write_text(FACTS, encoding="utf-8")
    (tmp_path / "per_objective.yaml").write_text(PER_OBJECTIVE, encoding="utf-8")
    return Engine(load_dialogues(tmp_path))


def at(engine: Engine, key: str, answers: dict[str, Any] | None = None, dialogue: str = "facts") -> ConvState:
    """The conversation asking the question at `key`, with these answers already given."""
    state = engine.begin(dialogue, {}, START, answers=answers).state
    return state.model_copy(update={"cursor": key, "mode": Mode.ASK})


def say(engine: Engine, state: ConvState, *typed: str) -> Result:
    result = Result(state)
    for text in typed:
        result = engine.advance(result.state, {}, START, text=text)
    return result


def said(result: Result) -> str:
    return "\n".join(m.text for m in result.messages)


# ---- every case issue 14 found refused (finding 3) and dropped (finding 4), through the engine ----


@pytest.mark.parametrize(
    ("key", "typed", "value", "check"),
    [
        ("people", "44 men came in the last year", 44, None),
        ("people", "12 people", 12, None),
        ("people", "twenty five", 25, None),
        ("people", "about 7000 calls", 7000, None),  # kept as 7,000 with its "about": nothing to check
        ("people", "38 x 2 x 48", 3648, "I worked that out as 38 × 2 × 48 = 3,648. Shall I put 3,648?"),
        ("people", "15 families a week", 780,
         "I worked that out as 15 a week × 52 = 780 over a year. Shall I put 780?"
         " If it's mostly the same people each time, say no and tell me how many different people that is."),
        ("people", "about 60", 60, None),
        ("due", "end of next march", "2027-03-31", None),  # today is Sunday 22 November 2026
        ("due", "31st of January", "2027-01-31", None),
        ("due", "next Friday", "2026-11-27", None),
        ("who", "Older poeple", ["older"], None),
    ],
)  # fmt: skip
def test_what_was_refused_is_understood(engine: Engine, key: str, typed: str, value: Any, check: str | None) -> None:
    result = say(engine, at(engine, key), typed)
    if check is not None:
        assert result.state.mode == Mode.CONFIRM and said(result) == check
        assert key not in result.state.answers, "nothing is kept before the yes"
        result = say(engine, result.state, "yes")
    assert result.state.answers[key] == value
    assert result.state.cursor != key, "on to the next question"


def test_two_numbers_are_asked_about_and_nothing_is_kept(engine: Engine) -> None:
    result = say(engine, at(engine, "people"), "140 older people plus our 38 volunteers")
    assert "I can see more than one number there (140 and 38). Which one answers this question?" in said(result)
    assert "For example: 140." in said(result)
    assert result.messages[-1].text.endswith("How many people did you reach?")
    assert result.state.cursor == "people" and "people" not in result.state.answers
    result = say(engine, result.state, "140")
    assert result.state.answers["people"] == 140 and qualifier_key("people") not in result.state.answers


def test_i_dont_know_at_how_do_you_know_picks_none_yet(engine: Engine) -> None:
    result = say(engine, at(engine, "evidence_kinds"), "I don't know")
    assert result.state.answers["evidence_kinds"] == ["none_yet"]
    assert "That's fine: I've put \"None yet\"." in said(result)
    assert "I need an answer to this one" not in said(result)
    assert result.state.cursor == "story" and "evidence_kinds" in result.changed


# ---- the number kept with its qualifier -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "qualifier"),
    [("about 60", "about"), ("around 60", "about"), ("roughly 60", "about"), ("over 60", "over"),
     ("more than 60", "over"), ("at least 60", "at least"), ("nearly 60", "nearly"), ("up to 60", "up to"),
     ("60ish", "about"), ("60+", "at least"), ("we reached about 60 people", "about")],
)  # fmt: skip
def test_the_qualifier_is_kept_beside_the_number(engine: Engine, typed: str, qualifier: str) -> None:
    result = say(engine, at(engine, "people"), typed)
    assert "Just to check" not in said(result), "kept with its word: nothing to check, one answer"
    answers = result.state.answers
    assert answers["people"] == 60 and isinstance(answers["people"], int), "the number exactly as before"
    assert answers["people~qualifier"] == qualifier
    assert {"people", "people~qualifier"} <= result.changed, "both are saved with the turn"
    assert qualified(answers, "people") == f"{qualifier} 60"


def test_money_keeps_its_qualifier_too(engine: Engine) -> None:
    result = say(engine, at(engine, "spend"), "under £500")
    answers = result.state.answers
    assert answers["spend"] == 500 and answers["spend~qualifier"] == "up to"
    assert qualified(answers, "spend", format_money) == "up to £500"


def test_a_plain_answer_has_no_qualifier_and_says_nothing_extra(engine: Engine) -> None:
    result = say(engine, at(engine, "people"), "60")
    assert result.state.answers["people"] == 60 and "people~qualifier" not in result.state.answers
    assert result.state.cursor == "volunteers" and "Just to check" not in said(result)
    assert qualified(result.state.answers, "people") == "60"
    assert qualified(result.state.answers, "volunteers") is None, "no answer, no number to show"


def test_a_qualified_sum_says_the_qualifier_in_its_check(engine: Engine) -> None:
    result = say(engine, at(engine, "people"), "about 15 a week")
    assert said(result) == (
        "I worked that out as 15 a week × 52 = 780 over a year. Shall I put about 780?"
        " If it's mostly the same people each time, say no and tell me how many different people that is."
    )
    result = say(engine, result.state, "yes")
    assert result.state.answers["people"] == 780 and result.state.answers["people~qualifier"] == "about"


def test_no_to_the_check_keeps_nothing(engine: Engine) -> None:
    result = say(engine, at(engine, "people"), "about 30 x 2", "no")
    assert "people" not in result.state.answers and "people~qualifier" not in result.state.answers
    assert result.state.cursor == "people"
    result = say(engine, result.state, "65")
    assert result.state.answers["people"] == 65 and "people~qualifier" not in result.state.answers


def test_given_again_plainly_skipped_or_changed_from_the_review_the_qualifier_goes(engine: Engine) -> None:
    state = say(engine, at(engine, "people"), "about 60").state
    assert state.answers["people~qualifier"] == "about"
    again = say(engine, state, "back", "60")
    assert again.state.answers["people"] == 60 and "people~qualifier" not in again.state.answers
    assert "people~qualifier" in again.changed, "saved as gone, so the evidence bank forgets it"

    skipped = say(engine, state, "back", "skip")
    assert "people" in skipped.state.skipped
    assert "people" not in skipped.state.answers and "people~qualifier" not in skipped.state.answers
    assert "people~qualifier" in skipped.changed

    answers = {"name": "Lunch Club", "people": 60, "people~qualifier": "about", "volunteers": 12}
    review = at(engine, "review", answers).model_copy(update={"mode": Mode.REVIEW})
    result = say(engine, review, "2")
    assert "How many people did you reach?" in said(result) and "(Your answer now: about 60)" in said(result)
    result = say(engine, result.state, "61")
    assert result.state.answers["people"] == 61 and "people~qualifier" not in result.state.answers
    assert "people~qualifier" in result.changed


def test_the_review_shows_the_qualifier_and_never_lists_the_sibling_key(engine: Engine) -> None:
    answers = {"name": "Lunch Club", "people": 60, "people~qualifier": "about", "volunteers": 12,
               "spend": 500, "spend~qualifier": "over"}  # fmt: skip
    text = said(say(engine, at(engine, "story", answers), "skip", "micro"))
    assert "Here's what you told me:" in text
    assert "2. People reached: about 60" in text
    assert "3. Volunteers: 12" in text
    assert "4. Local spend: over £500" in text
    assert "qualifier" not in text and "about\n" not in text
    assert len([line for line in text.splitlines() if line[:1].isdigit()]) == 6, "one line per question answered"


def test_an_answer_from_the_evidence_bank_comes_back_with_its_qualifier(engine: Engine) -> None:
    bank = {"people": {"value": 60, "when": "in March 2027"}, "people~qualifier": {"value": "about"}}
    state = at(engine, "name")
    state.suggestions = bank
    result = say(engine, state, "Lunch Club")
    assert "Last time you told me: about 60 (in March 2027). Is that still right?" in said(result)
    result = say(engine, result.state, "yes")
    assert result.state.answers["people"] == 60 and result.state.answers["people~qualifier"] == "about"
    assert {"people", "people~qualifier"} <= result.changed


def test_a_bank_answer_from_another_objective_brings_its_qualifier(engine: Engine) -> None:
    state = engine.begin("per_objective", {}, START, suggestions={
        ANY_ITEM + "people": {"value": 40}, ANY_ITEM + "people~qualifier": {"value": "over"}}).state  # fmt: skip
    result = say(engine, state, "Loneliness")
    assert "Last time you told me: over 40. Is that still right?" in said(result)
    result = say(engine, result.state, "yes")
    assert result.state.answers["per.loneliness.people"] == 40
    assert result.state.answers["per.loneliness.people~qualifier"] == "over"


def test_a_bank_qualifier_never_sticks_to_a_different_number(engine: Engine) -> None:
    bank = {"people": {"value": 60}, "people~qualifier": {"value": "about"}}
    state = at(engine, "name")
    state.suggestions = bank
    result = say(engine, state, "Lunch Club", "no", "5 + 5", "yes")
    assert result.state.answers["people"] == 10 and "people~qualifier" not in result.state.answers


def test_a_number_held_for_its_check_is_shown_with_its_qualifier(engine: Engine) -> None:
    """While "just to check" waits, the answer is held with its qualifier: shown as "about 60"."""
    state = say(engine, at(engine, "people"), "about 30 x 2").state
    run = Run(engine.dialogues, state, {}, START)
    assert run.current is not None
    assert prompts.display(run, run.current, state.pending) == "about 60"
    assert run.held(run.current) == (60, "about")


# ---- "I don't know" --------------------------------------------------------------------------------

DONT_KNOW = ["I don't know", "don't know", "dunno", "not sure", "no idea", "idk", "n/a", "none",
             "Dunno 🤷", "N/A.", "no idea!!", "not sure yet 🙈", "🤷", "I’m not sure", "IDK?"]  # fmt: skip


@pytest.mark.parametrize("typed", DONT_KNOW)
def test_i_dont_know_skips_an_optional_question(engine: Engine, typed: str) -> None:
    result = say(engine, at(engine, "story"), typed)
    assert "story" in result.state.skipped and "story" not in result.state.answers
    assert "No problem: I've noted that you don't know yet." in said(result)
    assert result.state.cursor == "size" and "How big is your group?" in result.messages[-1].text


@pytest.mark.parametrize("typed", DONT_KNOW)
def test_i_dont_know_picks_a_none_yet_option(engine: Engine, typed: str) -> None:
    result = say(engine, at(engine, "evidence_kinds"), typed)
    assert result.state.answers["evidence_kinds"] == ["none_yet"]
    assert "That's fine: I've put \"None yet\"." in said(result)


@pytest.mark.parametrize("typed", ["I don't know", "dunno", "n/a", "no idea 🤷"])
def test_i_dont_know_at_a_needed_number_says_how_to_move_on(engine: Engine, typed: str) -> None:
    result = say(engine, at(engine, "volunteers"), typed)
    text = said(result)
    assert text.startswith("That's fine, you don't need to be exact. A rough figure will do, like \"about 50\"")
    assert "say stop to come back to it later" in text and "I need an answer to this one" not in text
    assert text.endswith("How many volunteers help?")
    assert result.state.cursor == "volunteers" and "volunteers" not in result.state.skipped
    result = say(engine, result.state, "about 50")
    assert result.state.answers["volunteers"] == 50 and result.state.answers["volunteers~qualifier"] == "about"


def test_i_dont_know_at_a_needed_text_or_choice_says_a_best_guess_will_do(engine: Engine) -> None:
    for key, question in [("name", "What is your group called?"), ("size", "How big is your group?")]:
        result = say(engine, at(engine, key), "not sure")
        text = said(result)
        assert text.startswith("That's fine, you don't need to be sure.") and "best guess" in text
        assert "I need an answer to this one" not in text and question in text
        assert result.state.cursor == key and key not in result.state.answers


def test_none_is_a_number_at_a_number_question(engine: Engine) -> None:
    result = say(engine, at(engine, "people"), "none")
    assert result.state.answers["people"] == 0 and "people" not in result.state.skipped


def test_skip_at_a_needed_question_with_none_yet_points_to_it(engine: Engine) -> None:
    result = say(engine, at(engine, "evidence_kinds"), "skip")
    assert '"None yet" is fine if that\'s where you are' in said(result)
    assert "evidence_kinds" not in result.state.answers and result.state.cursor == "evidence_kinds"


def test_an_answer_that_mentions_not_knowing_is_still_an_answer(engine: Engine) -> None:
    result = say(engine, at(engine, "story"), "Not sure where to start, but Jo made three friends here.")
    assert result.state.answers["story"].startswith("Not sure where to start")


# ---- through the turn handler and SQLite: saved, and reused from the evidence bank -----------------


async def stored(bot: ScenarioBot) -> dict[str, Any]:
    async with bot.bot.sessionmaker() as session:
        return dict((await session.execute(select(Answer.key, Answer.value))).all())


async def test_the_qualifier_is_saved_and_offered_back_from_the_evidence_bank(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "facts.yaml").write_text(FACTS, encoding="utf-8")
    real = await make_bot(db_url, dialogues_dir=tmp_path, start_dialogue="facts")
    bot = ScenarioBot(real)
    try:
        for typed in ["hi", "Lunch Club", "about 60", "yes", "12", "skip", "skip", "skip", "skip",
                      "I don't know", "skip", "1"]:  # fmt: skip
            await bot.say(typed)
        assert "2. People reached: about 60" in bot.last and "How you know: None yet" in bot.last
        await bot.say("ok")
        assert bot.last == "Thanks!"
        rows = await stored(bot)
        assert rows["people"] == 60 and rows["people~qualifier"] == "about"
        assert rows["evidence_kinds"] == ["none_yet"] and rows["story"] is None
        assert "volunteers~qualifier" not in rows or rows["volunteers~qualifier"] is None

        await bot.say("start")  # a new walk-through: the bank offers the answers back
        await bot.press("Yes")  # the name
        assert "Last time you told me: about 60" in bot.last
        await bot.press("Yes")
        await bot.press("Yes")  # the volunteers
        assert "How much did you spend locally?" in bot.last, "skipped last time: asked, not offered"
        await bot.say("back")
        await bot.say("back")
        assert "How many people did you reach?" in bot.last and "(Your answer now: about 60)" in bot.last
        await bot.say("60")  # given again plainly: the "about" goes, from the bank too
        rows = await stored(bot)
        assert rows["people"] == 60 and rows["people~qualifier"] is None
    finally:
        await real.db_engine.dispose()  # type: ignore[attr-defined]
