"""The console channel, run as a real subprocess in piped mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.scenario import TEST_DIALOGUES


def chat(
    tmp_path: Path, db_url: str, lines: list[str], user: str = "sam", dialogues: Path = TEST_DIALOGUES
) -> str:
    env = {**os.environ, "SVBOT_DIALOGUES_DIR": str(dialogues), "DATABASE_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-m", "svbot.cli", "chat", "--user", user],
        input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout


def test_piped_console_walks_a_dialogue_and_prints_numbered_options(tmp_path: Path, db_url: str) -> None:
    out = chat(tmp_path, db_url, ["hi", "<i>Lunch</i> *Club*", "skip", "skip", "3", "skip", "end of March 2027", "3",
                          "1, 3", "skip", "skip", "no", "skip", "ok"])  # fmt: skip
    assert "What is your group called?" in out
    assert "  1. Under £10,000 a year\n  2. £10,000 to £100,000\n  3. Over £100,000" in out
    assert "  1. [ ] Older people" in out
    assert "  b. Back · s. Skip / I don't know · h. Help" in out
    assert "Who benefits?: Older people, Carers" in out
    assert "Thanks, <i>Lunch</i> *Club*!" in out, "markup is printed literally"
    assert out.index("How many older people") < out.index("How many carers")


def test_each_user_has_their_own_conversation_and_it_persists(tmp_path: Path, db_url: str) -> None:
    chat(tmp_path, db_url, ["hi", "Lunch Club"], user="ann")
    chat(tmp_path, db_url, ["hi"], user="ben")
    out = chat(tmp_path, db_url, ["status"], user="ann")
    assert "question 2 of" in out and "What does Lunch Club do?" in out


def test_the_real_walk_through_runs_in_the_console(tmp_path: Path, db_url: str) -> None:
    """The shipped dialogues and knowledge, from the first hello to the draft statement file."""
    out = chat(
        tmp_path,
        db_url,
        ["hi", "Hollybush Lunch Club", "A weekly lunch club for older people in Hollingdean", "1", "1", "1",
         "1", "35", "12", "1,728", "1", "We cook lunch and chat", "skip",
         "Members feel less lonely", "1, 2", "28 of 35 said they feel less lonely", "skip", "skip", "ok"],
        dialogues=Path(__file__).resolve().parent.parent / "dialogues",
    )  # fmt: skip
    assert "Please note:" in out and "illustrative" in out, "users are told the framework is a starter set"
    assert "\nHollybush Lunch Club: social value\n" in out, "the heading, without Markdown's #"
    assert "Our 12 volunteers gave 1,728 hours of their time." in out
    docx = list(tmp_path.glob("*.docx"))
    assert [p.name for p in docx] == ["hollybush-lunch-club-social-value.docx"]

