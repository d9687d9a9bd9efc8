"""How `svbot chat` looks (issue 22, item 2): a statement drawn as text styles, never raw Markdown;
choices numbered and controls lettered, where the number, the letter and the words all work; plain
text with no escape codes when output is piped; styles in a terminal.

The rendering runs the real `svbot chat` (piped, with FORCE_COLOR and NO_COLOR, and in a
pseudo-terminal); the answers run the console channel on the app the composition root builds.
"""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from svbot.channels.console import ConsoleChannel, control_keys
from svbot.messages import Button, Outbound
from svbot.paths import dialogues_dir
from tests.reliability.support import svbot_env
from tests.scenario import make_bot

pytestmark = pytest.mark.one_database  # see tests/conftest.py

ANSI = re.compile(r"\x1b\[[0-9;]*m")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[0-9;]+)(?:;[0-9;]*)?m")  # a foreground colour
# The shipped walk-through to the draft statement, with an "&" that Markdown escapes as "\&".
WALK_THROUGH = ["hi", "Hollybush Lunch Club", "A weekly lunch club for older people in Brighton & Hove", "1", "1",
                "1", "1", "35", "12", "1,728", "1", "We cook lunch and chat", "skip", "Members feel less lonely",
                "1, 2", "28 of 35 said they feel less lonely", "skip", "skip", "ok"]  # fmt: skip
HEADING = "Hollybush Lunch Club: social value"


def chat(tmp_path: Path, db_url: str, lines: list[str], **env: str) -> str:
    """`svbot chat` with its answers piped in, as a script runs it; `env` adds FORCE_COLOR and such."""
    environ = {k: v for k, v in svbot_env(db_url).items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR")}
    done = subprocess.run(
        [sys.executable, "-m", "svbot.cli", "chat", "--user", "ann"], input="\n".join(lines) + "\n",
        capture_output=True, text=True, env={**environ, **env}, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    return done.stdout


def statement_of(out: str) -> str:
    """The draft statement as printed: from its heading to the Word file's line."""
    start = out.index(HEADING)
    return out[start : out.index("The same statement as a Word document", start)]


# -- piped: plain text ------------------------------------------------------------------------------------


def test_piped_output_is_plain_text_with_no_markdown_and_no_escape_codes(tmp_path: Path, db_url: str) -> None:
    out = chat(tmp_path, db_url, WALK_THROUGH)
    assert not ANSI.search(out), "no escape codes when output is not a terminal"
    statement = statement_of(out)
    for syntax in ("**", "##", "\\&", "\\", "\n# ", "\n- ", "\n> ", "\n---", "_A draft"):
        assert syntax not in statement, f"Markdown syntax {syntax!r} printed raw"
    assert statement.startswith(HEADING + "\n\nA draft for Building social capital")
    assert "A weekly lunch club for older people in Brighton & Hove. In the 12 months" in statement
    assert "\nMore people give their time and take part in community life\n" in statement  # a section heading
    assert "\n • People reached: 35\n • Volunteers: 12\n • Volunteer hours: 1,728\n" in statement  # a list
    assert "Evidenced. The difference it makes is backed by a survey" in statement, "bold shown as its words"
    assert not [line for line in out.splitlines() if line != line.rstrip()], "no trailing spaces"
    # A paragraph stays one line when piped (a file or a bid form wraps it), however long.
    assert max(len(line) for line in statement.splitlines()) > 200
    # Choices numbered, controls lettered, in the same plain text.
    assert "  1. Under £10,000\n  2. £10,000 to £100,000\n" in out
    assert "  1. [ ] Older people\n" in out
    assert "  b. Back · s. Skip / I don't know · h. Help\n" in out
    assert "  d. Done · b. Back · s. Skip / I don't know · h. Help\n" in out
    assert "  a. All correct · c. Change an answer · b. Back\n" in out


def test_forced_to_a_terminal_markdown_is_drawn_with_styles(tmp_path: Path, db_url: str) -> None:
    """FORCE_COLOR (as Rich's force_terminal): headings and bold are ANSI bold, not asterisks."""
    out = chat(tmp_path, db_url, WALK_THROUGH, FORCE_COLOR="1")
    assert f"\x1b[1;4m{HEADING}\x1b[0m" in out, "the title bold and underlined"
    assert "\x1b[1mMore people give their time and take part in community life\x1b[0m" in out, "a heading bold"
    assert "\x1b[1mEvidenced.\x1b[0m" in out, "**Evidenced.** is bold"
    assert "\x1b[3mA draft for Building social capital" in out, "_italic_ is italic"
    plain = ANSI.sub("", out)
    statement = statement_of(plain)
    assert "**" not in statement and "##" not in statement and "\\&" not in statement
    assert "in Brighton & Hove." in statement
    assert "\x1b[1mRoughly how much does your group spend in a year?\x1b[0m" in out, "the question stands out"
    assert "\x1b[1;36m1.\x1b[0m Under £10,000" in out, "choice numbers in colour"
    assert "\x1b[1;36mb.\x1b[0m \x1b[2mBack\x1b[0m" in out, "a control: its letter, its label quieter"
    assert "  1. Under £10,000\n  2. £10,000 to £100,000" in plain, "the same lines under the styles"


def test_no_color_turns_colours_off_and_keeps_bold(tmp_path: Path, db_url: str) -> None:
    """NO_COLOR (no-color.org): no colour at all, even forced to a terminal; bold still marks headings."""
    out = chat(tmp_path, db_url, ["hi", "Lunch Club", "A lunch club", "zz", "1"], FORCE_COLOR="1", NO_COLOR="1")
    assert "\x1b[1m" in out and "\x1b[1mRoughly how much does your group spend in a year?" in out
    assert not COLOUR.search(out), COLOUR.search(out)
    refusal = "That isn't one of the options"
    assert refusal in out, "the refusal is there, bold rather than red"


@pytest.mark.parametrize("terminal", [False, True])
def test_a_table_and_escapes_in_markdown_are_text(terminal: bool) -> None:
    """What the walk-through's statement has no room for: a table, a numbered list, a link, escapes."""
    out = io.StringIO()
    channel = ConsoleChannel(None, "ann", out=out, interactive=False, terminal=terminal)  # type: ignore[arg-type]
    channel.show(Outbound(text="## Who we reached\n\n| Group | People |\n|---|---:|\n| Brighton \\& Hove | **140** |\n"
                               "| Older people | 35 |\n\n1. First\n2. Second\n\n[Our site](https://example.org/a_b)\n",
                          markdown=True))  # fmt: skip
    shown = out.getvalue()
    plain = ANSI.sub("", shown)
    assert bool(ANSI.search(shown)) is terminal
    rows = [line.split() for line in plain.splitlines() if line.strip()]
    assert rows[0] == ["Who", "we", "reached"]
    assert rows[1] == ["Group", "People"] and set(rows[2]) == {"─" * len(rows[2][0])}, "a header and its rule"
    assert re.search(r"Brighton & Hove +140\n +Older people +35\n", plain), "columns, the numbers to the right"
    assert "|" not in plain and "**" not in plain and "\\" not in plain and "---" not in plain
    assert "1 First" in plain and "2 Second" in plain
    assert "Our site (https://example.org/a_b)" in plain, "a link's address is shown, since a terminal may not link"
    if terminal:
        assert "\x1b[1mWho we reached\x1b[0m" in shown and "\x1b[1m140\x1b[0m" in shown


# -- numbers, letters and words ---------------------------------------------------------------------------


@pytest.fixture
async def console(db_url: str) -> AsyncIterator[tuple[ConsoleChannel, io.StringIO]]:
    bot = await make_bot(db_url, start_dialogue="every_type")
    out = io.StringIO()
    yield ConsoleChannel(bot, "pat", out=out, interactive=False), out
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


TO_SIZE = ["hi", "Lunch Club", "skip", "skip", "12", "skip", "31/01/2027"]  # to "How big is Lunch Club?"


@pytest.mark.parametrize("typed", ["3", "3.", "Over £100,000", "over £100,000!"])
async def test_a_choice_by_its_number_or_its_words(console: tuple[ConsoleChannel, io.StringIO], typed: str) -> None:
    channel, out = console
    for line in TO_SIZE:
        await channel.say(line)
    assert "How big is Lunch Club?\n  1. Under £10,000 a year" in out.getvalue()
    pressed = channel.inbound(typed)
    assert pressed.text is None and pressed.payload is not None and pressed.payload.endswith(":choose:2")
    await channel.say(typed)
    assert out.getvalue().rstrip().endswith("  d. Done · b. Back · h. Help"), "on to the multi-choice"
    await channel.say("b")
    assert "(Your answer now: Over £100,000)" in out.getvalue()


@pytest.mark.parametrize("typed", ["b", "B", "back", "Back", "b."])
async def test_a_control_by_its_letter_or_its_word(console: tuple[ConsoleChannel, io.StringIO], typed: str) -> None:
    channel, out = console
    for line in ["hi", "Lunch Club"]:
        await channel.say(line)
    assert out.getvalue().rstrip().endswith("What does Lunch Club do?\n  b. Back · s. Skip / I don't know · h. Help")
    await channel.say(typed)
    said = out.getvalue().rstrip()
    assert said.endswith("What is your group called?\n(Your answer now: Lunch Club)\n  k. Keep this answer · h. Help")
    assert "Keep this answer" in said and channel.inbound("k").payload.endswith(":keep")  # type: ignore[union-attr]


async def test_skip_help_and_done_by_their_letters(console: tuple[ConsoleChannel, io.StringIO]) -> None:
    channel, out = console
    for line in ["hi", "Lunch Club", "h"]:
        await channel.say(line)
    assert "A sentence is plenty." in out.getvalue(), "h is Help"
    await channel.say("s")
    assert out.getvalue().rstrip().endswith("How many people came?\n  b. Back · s. Skip / I don't know · h. Help")
    for line in ["s", "12", "skip", "31/01/2027", "1"]:
        await channel.say(line)
    assert channel.inbound("2").text == "2", "in a multi-choice numbers are typed: 1, 3 ticks two"
    assert channel.inbound("d").payload.endswith(":done")  # type: ignore[union-attr]
    await channel.say("1, 3")
    assert "How many older people took part?" in out.getvalue()


async def test_a_letter_that_is_not_shown_is_explained_not_taken_as_an_answer(
    console: tuple[ConsoleChannel, io.StringIO],
) -> None:
    channel, out = console
    await channel.say("hi")
    assert out.getvalue().rstrip().endswith("What is your group called?\n  h. Help"), "nothing to skip here"
    await channel.say("s")
    assert out.getvalue().rstrip().endswith("There's no s here. Type h for Help, or your answer.")
    await channel.say("Lunch Club")
    assert "What does Lunch Club do?" in out.getvalue(), "s was never the group's name"


def test_control_letters_stay_the_same_and_are_never_y_or_n() -> None:
    def keys(*controls: tuple[str, str]) -> list[str]:
        return control_keys(Button(label, payload) for label, payload in controls)

    back, skip, help_ = ("Back", "4:back"), ("Skip / I don't know", "4:skip"), ("Help", "4:help")
    assert keys(back, skip, help_) == ["b", "s", "h"]
    after_help = [("Where am I?", "4:status"), ("Stop for now", "4:cancel"), ("Start again", "4:restart")]
    assert keys(back, *after_help) == ["b", "w", "x", "r"], "s is never Stop for now, even with no Skip"
    assert keys(back, skip, *after_help) == ["b", "s", "w", "x", "r"]
    assert keys(("All correct", "9:review-ok"), ("Change an answer", "9:change"), back) == ["a", "c", "b"]
    assert keys(("No thanks", "mr:no"), ("Yes please", "mr:yes"), ("Stop", "mr:stop")) == ["t", "p", "s"], (
        "other controls by their label; y and n mean yes and no at a check"
    )


# -- in a terminal ----------------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal, as Linux makes one")
@pytest.mark.parametrize("leave", ["\x04", "ctrl-c"])
def test_in_a_terminal_with_a_prompt_and_ctrl_d_or_ctrl_c_leaves(tmp_path: Path, db_url: str, leave: str) -> None:
    """A person at a terminal: a greeting that says how to answer and leave, styles, "> " prompts,
    and Ctrl-D or Ctrl-C at the prompt leave at once, with the terminal as it was (echo on)."""
    import fcntl
    import pty
    import struct
    import termios

    master, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 90, 0, 0))
    env = {k: v for k, v in svbot_env(db_url).items() if k not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(
        [sys.executable, "-m", "svbot.cli", "chat", "--user", "pat"], stdin=child, stdout=child, stderr=child,
        env={**env, "SVBOT_DIALOGUES_DIR": str(dialogues_dir())}, cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    os.close(child)
    screen = b""

    def read_until(wanted: bytes, count: int = 1, timeout: float = 60) -> None:
        nonlocal screen
        end = time.monotonic() + timeout
        while screen.count(wanted) < count and time.monotonic() < end:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    screen += os.read(master, 65536)
                except OSError:  # the process has gone
                    return

    try:
        read_until(b"> ")
        for prompts, line in enumerate(["Lunch Club", "b"], start=2):
            os.write(master, line.encode() + b"\n")
            read_until(b"> ", prompts)
        if leave == "ctrl-c":
            os.killpg(process.pid, 2)  # the terminal sends SIGINT to the foreground group
        else:
            os.write(master, leave.encode())
        assert process.wait(timeout=15) == 0
        read_until(b"saved.", timeout=2)
        lflag = termios.tcgetattr(master)[3]
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    shown = screen.decode()
    words = " ".join(ANSI.sub("", shown).split())  # as read: the terminal's width wraps the lines
    assert "type its number or its words. To leave, type quit or press Ctrl-D." in words
    said = [line for line in shown.splitlines() if not line.startswith("> ")]  # what svbot printed
    assert not [line for line in said if line.rstrip("\r") != line.rstrip()], "no trailing spaces"
    assert "\x1b[1mWhat is your organisation or group called?\x1b[0m" in shown, "styles on in a terminal"
    assert "\x1b[1;36mb.\x1b[0m \x1b[2mBack\x1b[0m" in shown
    assert shown.count("What is your organisation or group called?") == 2, '"b" went back'
    assert "Traceback" not in shown
    assert words.endswith("> Bye for now. Your answers are saved.")
    assert lflag & termios.ECHO and lflag & termios.ICANON, "the terminal echoes again after svbot leaves"


def test_a_piped_quit_ends_the_chat_and_warnings_stay_off_the_screen(tmp_path: Path) -> None:
    """`quit` in a script leaves as it does at the prompt (it is not sent to svbot, which would answer
    with its help), and a warning logged meanwhile (join codes paused) does not land in the chat."""
    tries = "".join(f"join ABCD-EFG{n}\n" for n in range(12))
    done = subprocess.run(
        [sys.executable, "-m", "svbot.cli", "chat", "--user", "mallory"], input=tries + "quit\nhelp\n",
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "please wait until" in done.stdout
    assert "Here's what I can do" not in done.stdout, "quit (and what followed) reached svbot"
    assert "join attempts" not in done.stdout + done.stderr
