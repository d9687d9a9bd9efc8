"""Slack OAuth tokens encrypted at rest (svbot/channels/slack/tokens.py, docs/privacy.md): an install through
the app leaves no token in plain text in the database, events are still answered with the token, and
`svbot data rotate-key` moves every row to a new key (and encrypts rows written before encryption)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text as sql

from svbot.app import App, build_app
from svbot.channels.slack.sender import installation_stores
from svbot.channels.slack.tokens import TokenKeyError
from svbot.config import Settings
from svbot.errors import UserError
from svbot.messages import Outbound
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.reliability.support import svbot_env
from tests.serving import serve_app
from tests.test_slack import DATA, SECRET, SlackUser, shown

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
TOKEN = "xoxb-installed-token"  # what the fake Slack's oauth.v2.access gives
OLD_TEAM, OLD_TOKEN = "T0000099", "xoxb-written-before-encryption"


def settings_for(db_url: str, fake: FakeSlack, key: str | None) -> Settings:
    extra = {"SVBOT_ENCRYPTION_KEY": key} if key is not None else {}
    return Settings(
        DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=DATA / "dialogues", SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url, SLACK_CLIENT_ID="1111.2222", SLACK_CLIENT_SECRET="client-secret", **extra,
    )  # fmt: skip


async def raw_tokens(app: App) -> list[tuple]:
    async with app.bot.sessionmaker() as session:
        return [
            tuple(row)
            for table in ("slack_bots", "slack_installations")
            for row in (await session.execute(sql(f"SELECT * FROM {table}"))).all()
        ]


async def answered(app: App, fake: FakeSlack, user: str, install: bool = False) -> str | None:
    """Install through OAuth (when asked), then a person says hi: the token the reply was sent with."""
    async with serve_app(app.web_app()) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        if install:
            start = await http.get("/slack/install")
            state = start.cookies.get("slack-app-oauth-state") or ""
            done = await http.get("/slack/oauth_redirect", params={"code": "c", "state": state},
                                  headers={"Cookie": f"slack-app-oauth-state={state}"})  # fmt: skip
            assert done.status_code == 200, done.text
        person = SlackUser(http, fake, user=user)
        await person.say("hi")
        reply = await person.reply(1)
        assert shown(reply)
        return reply.token


async def write_a_plain_row(app: App) -> None:
    """A workspace installed before tokens were encrypted: its bot row in plain text."""
    async with app.bot.sessionmaker() as session, session.begin():
        await session.execute(
            sql(
                "INSERT INTO slack_bots (client_id, app_id, team_id, bot_token, bot_id, bot_user_id, installed_at,"
                " is_enterprise_install) VALUES ('1111.2222', 'A1', :team, :token, 'B1', 'UBOT9', :at, :no)"
            ),
            {"team": OLD_TEAM, "token": OLD_TOKEN, "at": datetime(2026, 1, 1), "no": False},
        )


def rotate_key(db_url: str, keys: str) -> str:
    done = subprocess.run([sys.executable, "-m", "svbot.cli", "data", "rotate-key"], capture_output=True, text=True,
                          env=svbot_env(db_url, SVBOT_ENCRYPTION_KEY=keys), timeout=120)  # fmt: skip
    assert done.returncode == 0 and "Traceback" not in done.stderr, (done.stdout, done.stderr)
    return done.stdout


async def find_bot(settings: Settings, team: str) -> str | None:
    assert settings.slack_client_id is not None
    store, _ = installation_stores(settings, settings.slack_client_id)
    try:
        bot = await store.async_find_bot(enterprise_id=None, team_id=team)
        return bot.bot_token if bot else None
    finally:
        await store.engine.dispose()


async def test_rotating_the_key_re_encrypts_every_token_and_the_old_key_can_go(db_url: str) -> None:
    async with FakeSlack() as fake:
        app = await build_app(settings_for(db_url, fake, KEY_A), start_dialogue="every_type", migrate=False)
        try:
            assert await answered(app, fake, "U0000042", install=True) == TOKEN
            raw = await raw_tokens(app)
            assert len(raw) == 2 and "xox" not in repr(raw), "the tables hold no token in plain text"
            await write_a_plain_row(app)
        finally:
            await app.close()
        # Before rotate-key, a plain row is read as it is: nothing breaks.
        assert await find_bot(settings_for(db_url, fake, KEY_A), OLD_TEAM) == OLD_TOKEN

        out = rotate_key(db_url, f"{KEY_B},{KEY_A}")
        assert "3 rows" in out and "1 of them" in out, out  # installation + bot rows, and the plain one

        app = await build_app(settings_for(db_url, fake, KEY_B), start_dialogue="every_type", migrate=False)
        sender = app.senders()["slack"]
        try:
            raw = await raw_tokens(app)
            assert len(raw) == 3 and "xox" not in repr(raw), "the plain row is encrypted too"
            assert await answered(app, fake, "U0000043") == TOKEN, "key B alone decrypts every token"
            await sender.send(f"{TEAM_ID}:D0000043", Outbound(text="Your report is due on Friday."))
            assert fake.ok_calls("chat.postMessage")[-1].token == TOKEN
        finally:
            await sender.close()  # type: ignore[attr-defined]
            await app.close()
        assert await find_bot(settings_for(db_url, fake, KEY_B), OLD_TEAM) == OLD_TOKEN
        with pytest.raises(TokenKeyError, match="cannot be decrypted"):
            await find_bot(settings_for(db_url, fake, KEY_A), TEAM_ID)


async def test_oauth_without_an_encryption_key_stops_at_start_up_saying_how_to_make_one(db_url: str) -> None:
    async def start(key: str | None) -> None:
        app = await build_app(settings_for(db_url, fake, key), start_dialogue="every_type", migrate=False)
        try:
            app.web_app()  # what `svbot serve` does first (and prints a UserError as one line)
            app.senders()
        finally:
            await app.close()

    async with FakeSlack() as fake:
        with pytest.raises(UserError, match="SVBOT_ENCRYPTION_KEY") as error:
            await start(None)
        assert "Fernet.generate_key()" in str(error.value) and "\n" not in str(error.value)
        with pytest.raises(UserError, match="Fernet key"):
            await start("not-a-key")


def test_the_cli_says_so_too(db_url: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "svbot.cli", "data", "rotate-key"], capture_output=True, text=True,
                          env=svbot_env(db_url), cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "SVBOT_ENCRYPTION_KEY" in done.stderr and "Fernet.generate_key()" in done.stderr
