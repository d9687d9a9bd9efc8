"""Issue 14, item 4: the review and starting again.

- The review numbers the answers 1..N; its commands are words ("all correct", "change 3") and
  unnumbered buttons, so a number always means an answer.
- A skipped or "I don't know" answer shows as "not answered yet"; long answers are shortened.
- Starting again offers the earlier answers back, and an answer is never replaced without asking:
  at a yes/no check, a reply that is neither yes nor no nor a clear new answer (a stray "1") gets
  the check again, with its choices (finding 5).

The tests use a small dialogue of their own, so they do not depend on the shape of the shipped
social_value.yaml.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from svbot.models import Answer
from tests.conftest import run_sql
from tests.scenario import Clock, ScenarioBot, make_bot

CLUB = """\
id: club
title: Club check
steps:
  - {id: name, ask: "What is your group called?", type: text, max_chars: 80, label: Name}
  - {id: about, ask: "What does your group do?", type: long_text, max_chars: 2000, optional: true,
     label: What you do}
  - {id: people, ask: "How many people came last year?", type: integer, min: 0, soft_max: 1000, optional: true,
     label: People}
  - id: size
    ask: "How big is the group?"
    label: Size
    type: choice
    options:
      - {value: micro, label: "Under £10,000 a year"}
      - {value: small, label: "£10,000 to £100,000"}
  - {id: review, type: review, ask: "Here's what you told me:"}
done: "Thanks, {{ answers.name }}!"
"""


def club_dialogues(tmp_path: Path) -> Path:
    folder = tmp_path / "dialogues"
    folder.mkdir(exist_ok=True)
    (folder / "club.yaml").write_text(CLUB, encoding="utf-8")
    return folder


@pytest.fixture
async def person(db_url: str, tmp_path: Path) -> AsyncIterator[ScenarioBot]:
    real = await make_bot(db_url, dialogues_dir=club_dialogues(tmp_path), clock=Clock(), start_dialogue="club")
    yield ScenarioBot(real)
    await real.db_engine.dispose()  # type: ignore[attr-defined]


async def saved(bot: ScenarioBot) -> dict[str, object]:
    """The evidence bank: every answer given, as it was last saved."""
    async with bot.bot.sessionmaker() as session:
        return dict((await session.execute(select(Answer.key, Answer.value))).all())


async def answer_all(bot: ScenarioBot) -> None:
    for said, expected in [
        ("hello", "What is your group called?"),
        ("Lunch Club", "What does your group do?"),
        ("We cook hot meals", "How many people came last year?"),
        ("40", "How big is the group?"),
        ("small", "Here's what you told me"),
    ]:
        await bot.say(said)
        assert expected in bot.last, f"after {said!r} expected {expected!r}, got {bot.last!r}"


def assert_asked_again(bot: ScenarioBot, check: str) -> None:
    """The same yes/no check again, with its choices as buttons."""
    assert check in bot.last, bot.transcript[-4:]
    assert [b.label for b in bot.last_message.buttons] == ["Yes", "No"]


# -- finding 5: a stray "1" ------------------------------------------------------------------------------


async def test_a_stray_1_at_still_right_after_restart_replaces_nothing(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.say("restart")
    await person.say("yes")
    assert "Last time you told me: Lunch Club" in person.last and "still right?" in person.last
    await person.say("1")  # on Slack or Telegram: no numbered buttons, so this is text
    assert_asked_again(person, "Last time you told me: Lunch Club")
    assert (await saved(person))["name"] == "Lunch Club"
    await person.say("yes")
    assert "What does your group do?" in person.last
    assert (await saved(person))["name"] == "Lunch Club"


async def test_a_stray_1_at_still_right_after_finishing_replaces_nothing(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.say("all correct")
    await person.say("start")
    assert "Last time you told me: Lunch Club" in person.last
    await person.say("1")
    assert_asked_again(person, "Last time you told me: Lunch Club")
    assert "Say yes to keep Lunch Club, or no to give a different answer." in person.last
    assert 'To put "1" instead, say "no, 1".' in person.last
    await person.press("Yes")  # the buttons of the first asking still work
    assert "Last time you told me: We cook hot meals" in person.last
    assert (await saved(person))["name"] == "Lunch Club"


async def test_a_stray_1_at_a_choice_offered_back_picks_no_option(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.say("restart")
    for _ in range(4):  # start again? and the three answers before
        await person.say("yes")
    assert "How big is the group?" in person.last and "Last time you told me: £10,000 to £100,000" in person.last
    await person.say("1")  # option 1 is "Under £10,000 a year"
    assert_asked_again(person, "Last time you told me: £10,000 to £100,000")
    await person.say("no, 1")  # said plainly: a new answer
    assert "Here's what you told me" in person.last and "4. Size: Under £10,000 a year" in person.last


async def test_a_stray_1_at_just_to_check_keeps_the_saved_answer(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.say("change 3")
    await person.say("5000")
    assert "5,000 is a lot more than most groups say. Is that right?" in person.last
    await person.say("1")
    assert_asked_again(person, "5,000 is a lot more than most groups say")
    assert "Say yes to keep 5,000" in person.last
    assert (await saved(person))["people"] == 40, "the saved answer is untouched"
    await person.say("no, 45")
    assert "3. People: 45" in person.last
    assert (await saved(person))["people"] == 45


async def test_a_stray_number_at_a_written_answer_changed_from_the_review_is_asked_about(person: ScenarioBot) -> None:
    """ "1" to change the name, then "17" as if the list were still there: asked, not put in its place."""
    await answer_all(person)
    await person.say("1")
    assert "(Your answer now: Lunch Club)" in person.last
    await person.say("17")
    assert_asked_again(person, 'Just to check: change your answer from "Lunch Club" to "17"?')
    assert (await saved(person))["name"] == "Lunch Club"
    await person.say("all correct")  # as if the review were still there: not an answer either
    assert_asked_again(person, 'change your answer from "Lunch Club" to "17"?')
    await person.say("no")
    assert "What is your group called?" in person.last and "(Your answer now: Lunch Club)" in person.last
    await person.say("Supper Club")  # words: kept at once
    assert "1. Name: Supper Club" in person.last
    await person.say("change 1")
    await person.say("7")
    await person.say("yes")  # a group really called 7
    assert "1. Name: 7" in person.last


async def test_a_stray_1_at_start_again_asks_again(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.say("restart")
    await person.say("1")
    assert "Start this walk-through again" in person.last and "please say yes or no" in person.last
    await person.press("No")  # its first buttons still work
    assert "OK, carrying on." in person.last and "Here's what you told me" in person.last
    assert "1. Name: Lunch Club" in person.last


@pytest.mark.parametrize(
    ("said", "name"),
    [("yes thanks", "Lunch Club"), ("ok, that's right", "Lunch Club"), ("still right", "Lunch Club"),
     ("no, Supper Club", "Supper Club"), ("nope, it's Supper Club now", "Supper Club now"),
     ("The Supper Club", "The Supper Club"), ("No Limits Theatre", "No Limits Theatre")],
)  # fmt: skip
async def test_clear_replies_at_still_right(person: ScenarioBot, said: str, name: str) -> None:
    """Yes in a few words keeps the answer; "no, ..." or an answer of several words replaces it."""
    await answer_all(person)
    await person.say("restart")
    await person.say("yes")
    await person.say(said)
    assert "What does your group do?" in person.last, person.transcript[-3:]
    assert (await saved(person))["name"] == name


async def test_no_to_still_right_asks_the_question(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.say("restart")
    await person.say("yes")
    await person.say("no thanks")
    assert person.last.startswith("No problem.") and person.last.endswith("What is your group called?")
    assert (await saved(person))["name"] == "Lunch Club"


# -- the review ------------------------------------------------------------------------------------------


async def test_the_review_numbers_the_answers_and_its_commands_are_words(person: ScenarioBot) -> None:
    await answer_all(person)
    review = person.last_message
    numbered = [line for line in review.text.splitlines() if line[:1].isdigit()]
    assert numbered == ["1. Name: Lunch Club", "2. What you do: We cook hot meals", "3. People: 40",
                        "4. Size: £10,000 to £100,000"]  # fmt: skip
    assert "say all correct" in review.text and "type its number, like 3" in review.text
    assert review.buttons == (), "no numbered buttons: a console numbers choices, and 1 is an answer"
    assert [b.label for b in review.controls] == ["All correct", "Change an answer", "Back"]


def test_the_review_commands_render_unnumbered_on_every_platform() -> None:
    """Telegram and Slack show the review's commands as plain buttons, the console as words."""
    import io

    from svbot.channels.console import ConsoleChannel
    from svbot.channels.slack.render import render as slack_render
    from svbot.channels.telegram.render import keyboard_rows
    from svbot.messages import Button, Outbound

    review = Outbound(
        text="Here's what you told me:\n\n1. Name: Lunch Club\n\nIs this right?",
        controls=(
            Button("All correct", "5:review-ok", style="primary"),
            Button("Change an answer", "5:change"),
            Button("Back", "5:back"),
        ),  # fmt: skip
        kind="question",
    )
    # On a phone, "Change an answer" beside another button would be cut short: a row each.
    assert [[k.text for k in row] for row in keyboard_rows(review)] == [["All correct"], ["Change an answer"], ["Back"]]
    blocks = [block for message in slack_render(review) for block in message.blocks]
    labels = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["All correct", "Change an answer", "Back"]
    out = io.StringIO()
    console = ConsoleChannel(None, "ann", out=out, interactive=False)  # type: ignore[arg-type]
    console.show(review)
    assert "1. All correct" not in out.getvalue() and "a. All correct · c. Change an answer · b. Back" in out.getvalue()
    console._last = review
    assert console.inbound("1").text == "1", "typed 1 goes to the review as text: answer 1"


@pytest.mark.parametrize("word", ["all correct", "All correct!", "yes", "looks good", "done", "ok", "all good"])
async def test_all_correct_as_a_word(person: ScenarioBot, word: str) -> None:
    await answer_all(person)
    await person.say(word)
    assert person.last == "Thanks, Lunch Club!"


async def test_all_correct_as_a_button(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.press("All correct")
    assert person.last == "Thanks, Lunch Club!"


async def test_skipped_and_unknown_answers_show_as_not_answered_yet(person: ScenarioBot) -> None:
    for said in ["hello", "Lunch Club", "skip", "I don't know", "1"]:
        await person.say(said)
    assert "2. What you do: not answered yet" in person.last
    assert "3. People: not answered yet" in person.last
    assert "skipped" not in person.last


async def test_long_answers_are_shortened_in_the_review(person: ScenarioBot) -> None:
    long_answer = "We cook a hot two-course lunch every Tuesday and Thursday for older neighbours, " * 4
    for said in ["hello", "Lunch Club", long_answer, "40", "1"]:
        await person.say(said)
    line = next(line for line in person.last.splitlines() if line.startswith("2. "))
    assert line.startswith("2. What you do: We cook a hot two-course lunch") and line.endswith("…")
    assert len(line) <= len("2. What you do: ") + 60
    assert (await saved(person))["about"] == long_answer.strip(), "only the list is shortened"


@pytest.mark.parametrize("pick", ["change 3", "3", "Change answer 3"])
async def test_changing_answer_3_comes_back_to_the_review(person: ScenarioBot, pick: str) -> None:
    await answer_all(person)
    await person.say(pick)
    assert "How many people came last year?" in person.last and "(Your answer now: 40)" in person.last
    await person.say("55")
    assert "Here's what you told me" in person.last and "3. People: 55" in person.last
    assert "1. Name: Lunch Club" in person.last, "nothing else changed"
    await person.say("all correct")
    assert person.last == "Thanks, Lunch Club!"
    assert (await saved(person))["people"] == 55


async def test_change_an_answer_button_then_its_number(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.press("Change an answer")
    assert "Which one? Type its number" in person.last
    await person.say("3")
    assert "How many people came last year?" in person.last
    await person.press("Keep this answer")
    assert "Here's what you told me" in person.last and "3. People: 40" in person.last
    await person.say("change 9")
    assert "There's no answer 9: choose 1 to 4." in person.last


# -- starting again --------------------------------------------------------------------------------------


async def test_restart_offers_every_earlier_answer_back(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.say("start again")
    await person.press("Yes")
    offered = []
    while "Here's what you told me" not in person.last:
        assert person.last_message.meta.get("confirm") == "yes", person.last
        offered.append(person.last.rsplit("Last time you told me: ", 1)[1])
        await person.say("yes")
    assert offered == ["Lunch Club. Is that still right?", "We cook hot meals. Is that still right?",
                       "40. Is that still right?", "£10,000 to £100,000. Is that still right?"]  # fmt: skip
    assert "3. People: 40" in person.last


async def test_start_after_finishing_offers_earlier_answers_with_when(person: ScenarioBot) -> None:
    await answer_all(person)
    await person.say("ok")
    await person.say("start")
    assert "Last time you told me: Lunch Club (in " in person.last


@pytest.mark.parametrize("word", ["restart", "start again"])
async def test_start_again_after_finishing_offers_earlier_answers(person: ScenarioBot, word: str) -> None:
    await answer_all(person)
    await person.say("all correct")
    await person.say(word)
    assert "Last time you told me: Lunch Club (in " in person.last


# -- through `svbot chat`, piped -------------------------------------------------------------------------


def test_review_and_start_again_through_svbot_chat(tmp_path: Path, db_url: str) -> None:
    """As a script (or a person at a terminal) would: the console numbers a question's choices, never
    the review's commands, so "3" changes answer 3; at "still right?" its "1" is the Yes button."""
    import subprocess
    import sys

    from tests.reliability.support import svbot_env

    def chat(*lines: str) -> str:
        env = svbot_env(db_url, SVBOT_DIALOGUES_DIR=str(club_dialogues(tmp_path)))
        done = subprocess.run(
            [sys.executable, "-m", "svbot.cli", "chat", "--user", "ann"],
            input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
        return done.stdout

    out = chat("hello", "Lunch Club", "skip", "40", "2", "3", "55", "all correct")
    assert "1. Name: Lunch Club\n2. What you do: not answered yet\n3. People: 40\n4. Size: £10,000 to £100,000" in out
    assert "1. All correct" not in out and "  a. All correct · c. Change an answer · b. Back" in out
    assert "How many people came last year?\n(Your answer now: 40)" in out, '"3" at the review changed answer 3'
    assert "3. People: 55" in out and out.rstrip().endswith("Thanks, Lunch Club!")

    again = chat("start", "1", "skip", "1", "1", "all correct")
    offer = r"Last time you told me: Lunch Club \(in \w+ \d{4}\)\. Is that still right\?\n  1\. Yes\n  2\. No"
    assert re.search(offer, again)
    assert re.search(r"Last time you told me: 55 \(in \w+ \d{4}\)", again)
    assert "1. Name: Lunch Club\n2. What you do: not answered yet\n3. People: 55" in again
    assert again.rstrip().endswith("Thanks, Lunch Club!")
    values = {key: str(value) for key, value in run_sql(db_url, "SELECT key, value FROM answers")}
    assert values["name"] in ("Lunch Club", '"Lunch Club"'), "the console's 1 was its Yes button"
    assert values["people"] == "55" and not [v for v in values.values() if v in ("1", '"1"')]
