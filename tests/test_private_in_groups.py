"""What is about a person's organisation never goes into a shared chat (issue 17): in a group, a
private command ("due", "write report", "statement", "members", ...) is not run there; the core asks
the channel to run it in the person's private chat (`Outbound.take_private`). The statement at the end
of a walk-through done in a group is marked `private` for the channel to send to the private chat.
These are the core's rules; the Slack and Telegram tests drive them through the fake platforms."""

from __future__ import annotations

import dataclasses

import pytest

from svbot.paths import dialogues_dir
from tests.scenario import Clock, ScenarioBot, make_bot


@pytest.fixture
async def group(db_url: str):
    bot = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=Clock())
    yield bot
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


def in_group(bot, user: str, text: str, n: int):
    from svbot.messages import Inbound

    return Inbound(platform="telegram", user_id=user, chat_id="-100200", text=text, event_id=f"g{n}",
                   user_name="Ann Smith", is_group=True)  # fmt: skip


PRIVATE = ["due", "/due", "write report", "statement", "members", "organisations", "share statement",
           "join ABCD-EFGHJK", "invite", "due all", "snooze 1 week"]  # fmt: skip


@pytest.mark.parametrize("said", PRIVATE)
async def test_a_private_command_in_a_group_is_not_run_there(group, said: str) -> None:
    replies = await group.handle(in_group(group, "7001", said, 1))
    assert len(replies) == 1 and replies[0].take_private, [r.text for r in replies]
    assert replies[0].text == "Ann, I've answered you in a private message, as it's about your organisation."
    assert not replies[0].buttons and not replies[0].file


async def test_the_same_command_in_private_runs(group) -> None:
    ann = ScenarioBot(group, user="7001", platform="telegram")
    await ann.say("due")
    assert not any(r.take_private for r in ann.replies)
    assert ann.replies and "private message" not in ann.text


async def test_public_commands_and_answers_stay_in_the_group(group) -> None:
    replies = await group.handle(in_group(group, "7001", "help", 2))
    assert replies and not any(r.take_private or r.private for r in replies)
    replies = await group.handle(in_group(group, "7001", "start", 3))
    assert replies and not any(r.take_private for r in replies), "the walk-through's questions may be asked here"


async def test_a_statement_finished_in_a_group_is_marked_private(group) -> None:
    from tests.test_transcripts import TODDLERS, walk

    ann = ScenarioBot(group, user="7001", platform="telegram", chat="-100200")
    original = ann.inbound

    def grouped(*args, **kwargs):
        return dataclasses.replace(original(*args, **kwargs), is_group=True)

    ann.inbound = grouped  # type: ignore[method-assign]
    await walk(ann, TODDLERS)  # every question asked in the group
    statement = [r for r in ann.replies if r.markdown or r.file]
    assert len(statement) >= 2 and all(r.private for r in statement), "the statement and its Word file"
