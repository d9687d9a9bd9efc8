"""`svbot doctor`, and configuration mistakes as one line in every command: the real CLI, as a subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from svbot.app import open_app
from svbot.config import Settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.serving import serve_app

UNREACHABLE_DB = "postgresql://svbot@127.0.0.1:1/svbot"  # port 1: nothing listens, refused at once
ROOT = Path(__file__).resolve().parents[1]


async def svbot(*args: str, env: dict[str, str], cwd: Path, stdin: str = "") -> tuple[int, str, str]:
    """Run the real `svbot` command with these settings (and no others from the environment)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SVBOT_", "SLACK_", "TELEGRAM_", "DATABASE"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "svbot.cli", *args, cwd=cwd, env={**clean, "PYTHONPATH": str(ROOT), **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_doctor_on_broken_settings_prints_one_line_per_problem_and_fails(tmp_path: Path) -> None:
    fake = await FakeTelegram().start()
    wrong_token = "999:not-the-bots-token"
    try:
        code, out, err = await svbot("doctor", cwd=tmp_path, env={
            "SVBOT_TIMEZONE": "Europe/Londn", "DATABASE_URL": UNREACHABLE_DB,
            "TELEGRAM_BOT_TOKEN": wrong_token, "TELEGRAM_API_URL": fake.base_url,
            "SVBOT_PUBLIC_URL": "http://127.0.0.1:1",
        })  # fmt: skip
    finally:
        await fake.stop()
    assert code == 1
    assert "Traceback" not in out + err
    problems = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    named = ["SVBOT_TIMEZONE:", "DATABASE_URL:", "TELEGRAM_BOT_TOKEN:", "SVBOT_PUBLIC_URL:", "SVBOT_SECRET_KEY:"]
    assert [line.split()[1] for line in problems] == named, out
    assert "Europe/Londn" in problems[0] and "Europe/London" in problems[0], "says what to write instead"
    assert "svbot:***" not in out and "127.0.0.1:1/svbot" in problems[1]
    assert "rejected TELEGRAM_BOT_TOKEN" in problems[2]
    assert wrong_token not in out + err, "a token is never printed"
    assert "5 problems to fix." in err


async def test_doctor_passes_on_a_good_setup_with_the_fakes(tmp_path: Path, db_url: str) -> None:
    async with FakeSlack() as slack:
        telegram = await FakeTelegram().start()
        settings = Settings(DATABASE_URL=db_url)
        try:
            async with open_app(settings, migrate=False) as app, serve_app(app.web_app()) as base_url:
                code, out, err = await svbot("doctor", cwd=tmp_path, env={
                    "DATABASE_URL": db_url, "SVBOT_SECRET_KEY": "a-long-enough-secret-for-the-test",
                    "SLACK_BOT_TOKEN": "xoxb-doctor", "SLACK_API_URL": slack.api_url,
                    "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.base_url,
                    "SVBOT_PUBLIC_URL": base_url,
                })  # fmt: skip
        finally:
            await telegram.stop()
    assert code == 0, out + err
    lines = out.splitlines()
    assert all(line.startswith("OK ") for line in lines), out
    assert "SVBOT_TIMEZONE: Europe/London" in out
    assert "is reachable and up to date" in out
    assert "SLACK_BOT_TOKEN: signed in to Slack as svbot in Fake team" in out
    assert "TELEGRAM_BOT_TOKEN: Telegram knows the bot as @svbot_test_bot" in out
    assert f"SVBOT_PUBLIC_URL: {base_url}/healthz answers" in out
    assert [call.method for call in slack.calls_to("auth.test")] == ["auth.test"], "one call each"


@pytest.mark.parametrize("command", [["chat"], ["serve", "--port", "0"], ["db", "upgrade"]])
@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("SVBOT_TIMEZONE", "Europe/Londn", "svbot: SVBOT_TIMEZONE: 'Europe/Londn' is not a time zone"),
        ("DATABASE_URL", UNREACHABLE_DB, "svbot: DATABASE_URL: cannot reach the database at " + UNREACHABLE_DB),
    ],
)
async def test_a_wrong_setting_is_one_line_for_chat_serve_and_db_upgrade(
    tmp_path: Path, command: list[str], setting: str, value: str, says: str
) -> None:
    code, out, err = await svbot(*command, cwd=tmp_path, env={setting: value}, stdin="hello\n")
    assert code == 1
    assert err.startswith(says), err
    assert len(err.strip().splitlines()) == 1, err
    assert err.strip().endswith("(`svbot doctor` checks every setting)")
    assert "Traceback" not in out + err
