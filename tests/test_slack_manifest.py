"""The Slack app manifest an operator pastes (deploy/slack-app-manifest.yml) against the code it must
match; and many-workspace installs: `app_uninstalled` and `tokens_revoked` delete the installation
(slack_sdk's store, through Bolt's listeners), after which nothing more is sent to that workspace."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import yaml
from sqlalchemy import text as sql

from svbot.app import App, build_app
from svbot.channels.slack.adapter import BOT_EVENTS, BOT_SCOPES, EVENTS_PATH, REDIRECT_PATH, SLASH_COMMAND
from svbot.config import Settings
from svbot.messages import Outbound, PermanentFailure
from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.serving import serve_app
from tests.test_shipped_wiring import slack_app  # noqa: F401  (the served app, on a fake Slack)
from tests.test_slack import DATA, SECRET, TOKEN_KEY, SlackUser, shown

pytestmark = pytest.mark.one_database  # see tests/conftest.py

MANIFEST = Path(__file__).parent.parent / "deploy" / "slack-app-manifest.yml"


def test_the_manifest_matches_the_code(slack_app: tuple[App, SlackUser]) -> None:  # noqa: F811
    app, _ = slack_app
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    default_scopes = Settings(DATABASE_URL="sqlite:///x").slack_scopes.split(",")
    assert set(default_scopes) == set(BOT_SCOPES), "what the OAuth install asks for (SLACK_SCOPES' default)"
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == set(BOT_EVENTS)
    assert urlparse(settings["event_subscriptions"]["request_url"]).path == EVENTS_PATH
    assert urlparse(settings["interactivity"]["request_url"]).path == EVENTS_PATH
    assert [urlparse(u).path for u in manifest["oauth_config"]["redirect_urls"]] == [REDIRECT_PATH]
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == SLASH_COMMAND and urlparse(command["url"]).path == EVENTS_PATH
    # Every word the usage hint offers is one the bot acts on, join included.
    hinted = [w.split()[0] for w in command["usage_hint"].strip("[]").split("|")]
    assert "join" in hinted
    for word in hinted:
        said = word + (" CODE" if word == "join" else "")
        intent = app.bot._match_intent(said)[0] or app.bot._match_intent("/" + said)[0]  # "help" is "/help"
        assert intent is not None, f"usage_hint offers {word!r}, which svbot does not know"
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True, "the DM is where private things go"


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT0001"]}},
    ],
)
async def test_uninstalling_deletes_the_installation_and_stops_sending(db_url: str, event: dict) -> None:
    async with FakeSlack() as fake:
        settings = Settings(
            DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=DATA / "dialogues", SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.api_url, SLACK_CLIENT_ID="1111.2222", SLACK_CLIENT_SECRET="client-secret",
            SVBOT_ENCRYPTION_KEY=TOKEN_KEY,
        )  # fmt: skip
        app = await build_app(settings, start_dialogue="every_type", migrate=False)
        sender = app.senders()["slack"]
        try:
            async with serve_app(app.web_app()) as base_url, httpx.AsyncClient(base_url=base_url) as http:
                install = await http.get("/slack/install")
                state = install.cookies.get("slack-app-oauth-state") or ""
                done = await http.get("/slack/oauth_redirect", params={"code": "c", "state": state},
                                      headers={"Cookie": f"slack-app-oauth-state={state}"})  # fmt: skip
                assert done.status_code == 200, done.text
                person = SlackUser(http, fake)
                await person.say("hi")
                assert shown(await person.reply(1))
                await sender.send(f"{TEAM_ID}:{person.dm}", Outbound(text="Your report is due on Friday."))
                assert await bots(app) == 1

                assert (await person.event(event)).status_code == 200
                await fake.wait_quiet(0.3)
                assert await bots(app) == 0, "the workspace's token is gone from the database"
            fake.fail("chat.postMessage", "token_revoked")  # what Slack says to the cached token
            with pytest.raises(PermanentFailure):
                await sender.send(f"{TEAM_ID}:{person.dm}", Outbound(text="Another reminder."))
            posts = len(fake.calls_to("chat.postMessage"))
            with pytest.raises(PermanentFailure, match="not installed"):
                await sender.send(f"{TEAM_ID}:{person.dm}", Outbound(text="And another."))
            assert len(fake.calls_to("chat.postMessage")) == posts, "nothing more is sent to that workspace"
        finally:
            await sender.close()  # type: ignore[attr-defined]
            await app.close()


async def bots(app: App) -> int:
    async with app.bot.sessionmaker() as session:
        return len((await session.execute(sql("SELECT team_id FROM slack_bots"))).all())
