"""The social value walk-through with the shipped dialogues and knowledge, for three different
organisations, down to the draft statement in chat, the .docx, and `svbot statement export`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from svbot.paths import dialogues_dir
from tests.scenario import Clock, ScenarioBot, make_bot

MARKUP = "<b>bold</b> *star* _under_ `tick` [link](https://evil.example) <@U123>"


async def walk(bot: ScenarioBot, answers: dict[str, Any]) -> None:
    """Answer each question the bot asks, by its answer key; anything not given is skipped."""
    await bot.say("hello")
    for _ in range(200):
        message = bot.last_message
        if "draft evidence statement" in bot.text:
            return
        key = message.meta.get("key")
        if key is None or message.meta.get("confirm"):  # "just to check", "still right?", the review
            await bot.say("ok" if "Is this right?" in message.text else "yes")
            continue
        tail = key.split(".")[-1]
        value = answers.get(key, answers.get(tail, "skip"))
        await bot.say(str(value))
    raise AssertionError("the walk-through never finished:\n" + "\n".join(bot.transcript[-10:]))


@pytest.fixture
async def person(db_url: str) -> ScenarioBot:
    bot = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=Clock())
    yield ScenarioBot(bot)
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


def statement_text(bot: ScenarioBot) -> str:
    return "\n".join(m.text for m in bot.replies if m.markdown)


def docx_of(bot: ScenarioBot) -> Document:
    files = [m.file for m in bot.replies if m.file is not None]
    assert len(files) == 1 and files[0].filename.endswith(".docx")
    return Document(io.BytesIO(files[0].content))


async def test_a_lunch_club_for_older_people(person: ScenarioBot) -> None:
    await walk(person, {
        "name": "Hollybush Lunch Club", "what": "A weekly lunch club for older people in Hollingdean",
        "size": "3", "framework": "building social capital", "who_benefits": "older", "period": "1",
        "people_reached": "1,200", "volunteers": "12", "volunteer_hours": "1,728",
        "local_spend": "£2.4k", "partners": "3", "own_value": "£15,000",
        "own_value_source": "Our 2026 evaluation, page 12", "objectives": "1, 2",
        "activity": "We cook a hot lunch every Tuesday and chat",
        "over_and_above": "Volunteers drive members home, which no grant pays for",
        "change": "Members tell us they feel less lonely",
        "evidence_kinds": "1, 2", "evidence_detail": "28 of 35 members said so in our March survey",
        "story": '"I talk to people now," said one member, 82.',
        "commitment": "Recruit 4 new volunteers, counted in our volunteer register", "commitment_date": "31/03/2028",
    })  # fmt: skip
    assert "Please note:" in person.transcript[person.transcript.index("> building social capital") + 1]
    text = statement_text(person)
    assert "# Hollybush Lunch Club: social value" in text
    assert "More people give their time and take part in community life" in text
    bid = text.split("Notes for you")[0]
    assert "we reached 1,200 people" in bid and "Our 12 volunteers gave 1,728 hours of their time." in bid
    assert "spent £2,400 with local businesses" in bid
    assert bid.count("1,728") == 1, "the group's figures once, not under every objective"
    assert "Over and above what we are funded to do: Volunteers drive members home" in bid
    assert "protected characteristics under the Equality Act 2010: age" in bid, "older people: age"
    assert "£15,000" in bid and "Our 2026 evaluation, page 12" in bid, "an own value comes with its source"
    assert "illustrative" in text.lower(), "the starter set is never passed off as the council's wording"
    assert "31 March 2028" in bid
    document = docx_of(person)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert document.paragraphs[0].text == "Hollybush Lunch Club: social value"
    assert any("More people give their time" in h for h in headings)
    assert "Notes for you, not for the bid" in headings
    assert any("1,728" in p.text for p in document.paragraphs)


async def test_a_youth_sports_club_with_markup_and_a_gap(person: ScenarioBot) -> None:
    await walk(person, {
        "name": f"Kickabout Youth FC {MARKUP}", "what": "Free football for young people in Whitehawk",
        "size": "2", "framework": "PPN 06/20", "who_benefits": "young", "period": "2",
        "people_reached": "85", "volunteers": "6", "volunteer_hours": "about 600", "objectives": "health",
        "activity": f"Two free coaching sessions a week {MARKUP}",
        "change": "Players are fitter and more confident", "evidence_kinds": "none yet",
    })  # fmt: skip
    text = statement_text(person)
    assert "Improve health and wellbeing" in text
    assert "<b>bold</b>" not in text and "\\*star\\*" in text, "markup is shown literally, never interpreted"
    assert "“Improve health and wellbeing”: no evidence yet of the difference it makes." in text
    assert "Not yet evidenced" in text
    assert "gave about 600 hours" in text, "an estimate stays an estimate"
    document = docx_of(person)
    assert f"Kickabout Youth FC {MARKUP}" in document.paragraphs[0].text, "Word shows the text as typed"


async def test_a_food_bank_within_a_word_limit(person: ScenarioBot, db_url: str, tmp_path: Path) -> None:
    long_answer = " ".join(["We sort, pack and hand out food parcels to families in crisis every weekday."] * 12)
    await walk(person, {
        "name": "Moulsecoomb Food Bank", "what": "Emergency food for families in Moulsecoomb",
        "size": "2", "framework": "local social value", "objectives": "1, 2, 3", "period": "1",
        "activity": long_answer, "people_reached": "2,340", "volunteers": "40", "volunteer_hours": "5,200",
        "local_spend": "£12,500", "change": long_answer, "evidence_kinds": "attendance, survey",
        "story": long_answer,
    })  # fmt: skip
    person.replies.clear()
    await person.say("limit 400")  # the bid's word limit, after the first draft: no need to walk again
    assert "fitted to 400 words" in person.text
    text = statement_text(person)
    for title in ["We involve local people in shaping what we do",
                  "We create local opportunities to volunteer, learn and work",
                  "We spend locally and support small local organisations"]:  # fmt: skip
        assert title in text
    assert "we reached 2,340 people" in text and "spent £12,500 with local businesses" in text
    assert "(limit 400)" in text
    words_used = int(text.split("The text to submit is ")[1].split(" words")[0].replace(",", ""))
    assert words_used <= 400

    # The same statement from the command line, in every format, for the organisation it created.
    env = {**os.environ, "DATABASE_URL": db_url}
    for fmt in ("md", "html", "txt"):
        done = subprocess.run([sys.executable, "-m", "svbot", "statement", "export", "--org", "1", "--format", fmt],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Moulsecoomb Food Bank" in done.stdout and "2,340" in done.stdout
    out = tmp_path / "statement.docx"
    command = [sys.executable, "-m", "svbot", "statement", "export", "--org", "1", "--format", "docx"]
    command += ["--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Document(str(out)).paragraphs[0].text == "Moulsecoomb Food Bank: social value"
    missing = subprocess.run([sys.executable, "-m", "svbot", "statement", "export", "--org", "99"],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    assert missing.returncode == 1 and "No organisation with id 99. `svbot orgs list` shows them." in missing.stderr
    assert "Traceback" not in missing.stderr


async def test_a_second_walk_through_offers_earlier_answers(person: ScenarioBot) -> None:
    await walk(person, {"name": "Hollybush Lunch Club", "what": "Lunches", "framework": "1", "objectives": "1",
                        "activity": "Lunch", "volunteers": "42", "change": "Less lonely",
                        "evidence_kinds": "1"})  # fmt: skip
    await person.say("start")
    assert "what does Hollybush Lunch Club do, and where?" in person.text  # its organisation now
    assert "Last time you told me: Lunches" in person.last
    for _ in range(30):
        if "volunteers" in person.last.lower():
            break
        still_right = person.last_message.meta.get("confirm")  # "Last time you told me ...: still right?"
        await person.say("yes" if still_right else "skip")
    assert "Last time you told me: 42" in person.last, "You said 42 volunteers: still right?"


async def test_a_statement_for_another_bid_asks_only_what_its_objectives_need(person: ScenarioBot) -> None:
    await walk(person, {"name": "Hollybush Lunch Club", "what": "Lunches in Hollingdean",
                        "framework": "building social capital", "who_benefits": "older", "period": "1",
                        "objectives": "1", "activity": "Lunch", "volunteers": "42", "change": "Less lonely",
                        "evidence_kinds": "1"})  # fmt: skip
    await person.say("new statement")
    asked = []
    second = {"framework": "PPN 06/20", "objectives": "health", "activity": "Walking football",
              "change": "Members are fitter", "evidence_kinds": "attendance"}
    for _ in range(20):
        meta = person.last_message.meta
        if "Is this right?" in person.last:
            break
        key = meta["key"]
        asked.append(key)
        await person.say(second.get(key.rsplit(".", 1)[-1], "skip"))
    assert asked[:2] == ["framework", "objectives"], "the group's own facts are kept, not asked again"
    assert all(k == "framework" or k == "objectives" or k.startswith("per_objective.health_wellbeing.")
               for k in asked), asked
    assert len(asked) <= 10
    await person.say("all correct")
    text = statement_text(person)
    assert "Improve health and wellbeing" in text and "Walking football" in text
    assert "42 volunteers" in text, "the volunteers given for the first bid carry over"
