"""The dialogue engine through the real turn handler and a real SQLite file: every answer type,
the words and buttons that work at every step, review and editing, and bad input."""

from __future__ import annotations

from sqlalchemy import select

from svbot.models import Answer
from tests.scenario import ScenarioBot


async def walk_to_review(bot: ScenarioBot) -> None:
    """Answer every question of the test dialogue by typing, checking each question appears."""
    script = [
        ("hello", "What is your group called?"),
        ("Lunch Club", "What does Lunch Club do?"),
        ("We cook hot meals", "How many people came?"),
        ("1,200", "How many hours?"),
        ("12.5", "How much did you spend locally?"),
        ("£1.2k", "When is your report due?"),
        ("31/01/2027", "How big is Lunch Club?"),
        ("over", "Who benefits?"),
        ("older and carers", "How many older people took part?"),
        ("30", "How many carers took part?"),
        ("5", "Do you have a grant?"),
        ("yes", "Who funds you?"),
        ("The council", "Anything else?"),
        ("No", "Here's what you told me"),
    ]
    for said, expected in script:
        await bot.say(said)
        assert expected in bot.last, f"after {said!r} expected {expected!r}, got {bot.last!r}"


async def stored_answers(bot: ScenarioBot) -> dict[str, object]:
    async with bot.bot.sessionmaker() as session:
        rows = (await session.execute(select(Answer.key, Answer.value))).all()
    return dict(rows)


async def test_every_answer_type_by_typing(bot: ScenarioBot) -> None:
    await walk_to_review(bot)
    review = bot.last
    for line in ["Name: Lunch Club", "How many people came?: 1,200", "How many hours?: 12.5",
                 "How much did you spend locally?: £1,200", "Sun 31 Jan 2027", "Over £100,000",
                 "Who benefits?: Older people, Carers", "Older people\n9. How many older people took part?: 30",
                 "Do you have a grant?: Yes", "Who funds you?: The council"]:  # fmt: skip
        assert line in review
    await bot.say("ok")
    assert bot.last == "Thanks, Lunch Club!"
    answers = await stored_answers(bot)
    assert answers["people"] == 1200 and answers["hours"] == 12.5 and answers["spend"] == 1200
    assert answers["due"] == "2027-01-31" and answers["size"] == "medium"
    assert answers["groups"] == ["older", "carers"] and answers["per_group.carers.count"] == 5
    assert answers["extra.note"] == "No" and answers["funded"] is True


async def test_every_answer_type_by_buttons(bot: ScenarioBot) -> None:
    await bot.say("hi")
    await bot.say("Lunch Club")
    await bot.press("Skip")  # optional long text
    await bot.press("Skip")  # optional integer
    assert "How many hours?" in bot.last
    await bot.say("3")
    await bot.press("Skip")
    await bot.say("end of March")
    await bot.press("£10,000 to £100,000")
    assert "Who benefits?" in bot.last
    await bot.press("Young people")
    assert bot.last_message.replace_previous, "a toggle redraws the same message"
    assert [b.selected for b in bot.last_message.buttons] == [False, True, False]
    await bot.press("Carers")
    await bot.press("Young people")  # and off again
    assert [b.selected for b in bot.last_message.buttons] == [False, False, True]
    await bot.press("Done")
    assert "How many carers took part?" in bot.last
    await bot.press("Skip")
    await bot.press("No")
    assert "Anything else?" in bot.last, "no grant: the funder question is left out"
    await bot.press("Skip")
    assert "Here's what you told me" in bot.last
    assert "Who funds you" not in bot.last
    await bot.press("All correct")
    assert bot.last == "Thanks, Lunch Club!"
    answers = await stored_answers(bot)
    assert answers["size"] == "small" and answers["groups"] == ["carers"] and answers["funded"] is False
    assert answers["people"] is None, "a skipped question is kept as skipped"


async def test_invalid_answers_give_the_reason_an_example_and_the_same_question(bot: ScenarioBot) -> None:
    await bot.say("hi")
    await bot.say("Lunch Club")
    await bot.say("We cook")
    await bot.say("loads")
    assert "couldn't read that" in bot.last and "For example" in bot.last
    assert bot.last.endswith("How many people came?")
    await bot.say("-4")
    assert "below zero" in bot.last
    await bot.say("many")
    assert "Stuck? Type help" in bot.last and "skip" in bot.last, "after three tries, a way out"
    await bot.say("12")
    await bot.say("99999")
    assert "most I can take, 10,000" in bot.last
    await bot.say("10")
    await bot.say("a fair bit")
    assert "amount of money" in bot.last
    await bot.say("0")
    await bot.say("31/02/2027")
    assert "doesn't exist" in bot.last and "When is your report due?" in bot.last
    await bot.say("2027-02-28")
    await bot.say("dogs")
    assert "isn't one of the options" in bot.last and "How big is Lunch Club?" in bot.last
    await bot.say("9")
    assert "no option 9: choose 1 to 3" in bot.last
    await bot.say("Under")
    await bot.press("Done")
    assert "at least 1" in bot.last, "a required multi-choice needs a choice"
    await bot.say("people")
    assert '"Older people" or "Young people"' in bot.last
    await bot.say("2")
    await bot.say("7")
    await bot.say("maybe")
    assert "yes or no" in bot.last


async def test_numbers_given_roughly_keep_their_word_without_a_check(bot: ScenarioBot) -> None:
    for said in ["hi", "Lunch Club", "We cook"]:
        await bot.say(said)
    await bot.say("about 40")
    assert "How many hours?" in bot.last, "kept as 40 with its 'about': nothing to check, one answer"
    await bot.say("back")
    assert "(Your answer now: about 40)" in bot.last
    await bot.say("45ish")
    assert "How many hours?" in bot.last
    await bot.say("back")
    assert "(Your answer now: about 45)" in bot.last
    await bot.say("around 50")
    await bot.say("7")
    await bot.say("back")
    await bot.say("back")
    assert "(Your answer now: about 50)" in bot.last
    await bot.say("5000000")
    assert "a lot more than most groups say" in bot.last
    await bot.say("yes")
    assert (await stored_answers(bot))["people"] == 5_000_000


async def test_back_skip_help_status(bot: ScenarioBot) -> None:
    await bot.say("hi")
    await bot.say("back")
    assert "first question" in bot.last
    await bot.say("help")
    assert "What is your group called?" in bot.last
    await bot.say("skip")
    assert "I need an answer to this one" in bot.last, "a required question can't be skipped"
    await bot.say("Lunch Club")
    await bot.say("help")
    assert "A sentence is plenty." in bot.text and bot.last.endswith("What does Lunch Club do?")
    await bot.say("I don't know")
    assert "noted that you don't know" in bot.text and "How many people came?" in bot.last
    await bot.say("back")
    assert "What does Lunch Club do?" in bot.last
    await bot.press("Back")
    assert "(Your answer now: Lunch Club)" in bot.last
    await bot.press("Keep this answer")
    assert "What does Lunch Club do?" in bot.last
    await bot.say("status")
    assert 'question 2 of' in bot.last and '"Every answer type"' in bot.last and "1 answered" in bot.last


async def test_every_control_is_also_a_button(bot: ScenarioBot) -> None:
    await bot.say("hi")
    await bot.say("Lunch Club")
    assert [b.label for b in bot.last_message.controls] == ["Back", "Skip / I don't know", "Help"]
    await bot.press("Help")
    labels = [b.label for b in bot.last_message.controls]
    assert labels == ["Back", "Skip / I don't know", "Where am I?", "Stop for now", "Start again"]
    await bot.press("Where am I?")
    assert "question 2 of" in bot.last
    await bot.press("Help")
    await bot.press("Stop for now")
    assert "I've stopped here" in bot.last
    await bot.say("start")
    await bot.press("Help")
    await bot.press("Start again")
    assert "Start this walk-through again" in bot.last
    await bot.press("Yes")
    assert "What is your group called?" in bot.last


async def test_cancel_keeps_answers_and_start_picks_up(bot: ScenarioBot) -> None:
    for said in ["hi", "Lunch Club", "We cook"]:
        await bot.say(said)
    await bot.say("cancel")
    assert "stopped" in bot.last and "saved" in bot.last
    await bot.say("status")
    assert "paused" in bot.last
    await bot.say("start")
    assert "How many people came?" in bot.last


async def test_restart_asks_first_then_offers_earlier_answers_back(bot: ScenarioBot) -> None:
    for said in ["hi", "Lunch Club", "We cook"]:
        await bot.say(said)
    await bot.say("restart")
    assert "Start this walk-through again" in bot.last
    await bot.press("No")
    assert "How many people came?" in bot.last
    await bot.say("start again")
    await bot.press("Yes")
    assert "What is your group called?" in bot.last
    assert "Last time you told me: Lunch Club" in bot.last
    await bot.press("Yes")
    assert "Last time you told me: We cook" in bot.last
    await bot.press("No")
    assert bot.last.startswith("No problem.") and "What does Lunch Club do?" in bot.last


async def test_review_edits_an_answer_and_returns_to_review(bot: ScenarioBot) -> None:
    await walk_to_review(bot)
    await bot.say("1")
    assert "What is your group called?" in bot.last and "(Your answer now: Lunch Club)" in bot.last
    await bot.say("Supper Club")
    assert "Here's what you told me" in bot.last and "Name: Supper Club" in bot.last
    # Changing the groups adds a question for the new group, then comes back to the review.
    await bot.press("Change an answer")
    await bot.say("8")
    assert "Who benefits?" in bot.last
    assert [b.selected for b in bot.last_message.buttons] == [True, False, True]
    await bot.press("Young people")
    await bot.press("Done")
    assert "How many young people took part?" in bot.last
    await bot.say("9")
    assert "Here's what you told me" in bot.last and "Young people\n10. How many young people took part?: 9" in bot.last
    await bot.say("change 99")
    assert "There's no answer 99" in bot.last


async def test_old_buttons_are_refused_politely(bot: ScenarioBot) -> None:
    for said in ["hi", "Lunch Club", "We cook", "12", "3", "£5", "31/01/2027"]:
        await bot.say(said)
    old_button = bot.button("Over £100,000")
    await bot.press("Under £10,000")
    await bot.send(bot.inbound(payload=old_button.payload))
    assert "earlier question" in bot.text and "Who benefits?" in bot.last
    await bot.send(bot.inbound(payload="nonsense"))
    assert "didn't recognise that button" in bot.text or "don't recognise that button" in bot.text
    assert (await stored_answers(bot))["size"] == "micro", "the old button changed nothing"


async def test_welcome_back_after_a_long_gap(bot: ScenarioBot, clock) -> None:  # type: ignore[no-untyped-def]
    for said in ["hi", "Lunch Club"]:
        await bot.say(said)
    clock.advance(hours=30)
    await bot.say("We cook")
    assert "Welcome back!" in bot.last and "carry on, or start again" in bot.last
    await bot.press("Carry on")
    assert "What does Lunch Club do?" in bot.last
    await bot.say("We cook")
    assert "How many people came?" in bot.last
    clock.advance(days=3)
    await bot.say("12")
    await bot.press("Start again")
    assert "What is your group called?" in bot.last


async def test_bad_input_is_refused_kindly_and_nothing_is_lost(bot: ScenarioBot) -> None:
    await bot.say("hi")
    await bot.say("")
    assert "didn't catch" in bot.last
    await bot.say("x" * 100_000)
    assert "100,000 characters" in bot.last and "up to 50" in bot.last
    await bot.say("مرحبا 👋 <b>Club</b> *bold* _x_ `code`\x00\x1b")
    assert "What does مرحبا 👋 <b>Club</b> *bold* _x_ `code`" in bot.last
    await bot.say("\u202eevil\u202c")
    answers = await stored_answers(bot)
    assert answers["name"] == "مرحبا 👋 <b>Club</b> *bold* _x_ `code`"
    assert answers["about"] == "evil", "direction overrides are removed"
    await bot.say("back")
    await bot.say("back")
    await bot.say("{{ 7*7 }} {% for x in range(3) %}x{% endfor %}")
    assert "What does {{ 7*7 }} {% for x in range(3) %}x{% endfor %} do?" in bot.last, "answers are never templates"


async def test_home_words_outside_a_walk_through(bot: ScenarioBot) -> None:
    await bot.say("status")
    assert "not in the middle of anything" in bot.last
    await bot.say("help")
    assert "Here's what I can do" in bot.last
    await bot.say("hello")
    assert "What is your group called?" in bot.last
