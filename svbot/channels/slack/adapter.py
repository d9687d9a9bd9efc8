"""The Slack channel: a slack-bolt AsyncApp that turns Slack requests into chat turns.

People reach svbot in a direct message, by mentioning it in a channel (it answers in a thread), with
`/svbot <words>` and by pressing the buttons it sends. Bolt checks the signature and the timestamp
(older than 5 minutes: 401) before any listener sees a request, and drops the bot's own messages; we
also drop other bots' messages.

In a channel:
- After the mention, the person answers in the thread without mentioning svbot (message.channels /
  message.groups). Any other channel message is dropped before the ack, storing nothing: it counts
  only if the person has a conversation under way keyed by that thread (one read by unique key).
- Buttons carry their person in the block_id (render.owner_of); anyone else's press gets an ephemeral
  "this is X's question" and changes nothing.
- Private things never go into the channel: `Outbound.private` replies go to the person's DM, and a
  `take_private` command is run again in the DM (the core's contract), each with a note in the thread.
`/svbot` in a DM svbot is not in (between two people) answers through the response_url, ephemerally.

Ack first, work after. Slack wants an answer within 3 seconds, and on SQLite a turn runs on the event
loop's thread (svbot/sqlite_inloop.py), so a turn holds up every request behind it. So a listener only
acknowledges and puts the turn in the shared turn queue (svbot/channels/turnqueue.py; Bolt runs with
`process_before_response=True` and answers as soon as the listener returns); the queue runs the turns
and hands their replies back here, in order per person. All Web API calls share one aiohttp session,
so they reuse connections instead of opening one per call.

The package's other modules: `setup` (the web mount and the Socket Mode worker), `sender` (reminders
and broadcasts, and the posting this adapter uses) and `render` (Block Kit).

Two ways to authorise:
- Single workspace: `SLACK_BOT_TOKEN` + `SLACK_SIGNING_SECRET`.
- Many workspaces: no bot token, but `SLACK_CLIENT_ID` + `SLACK_CLIENT_SECRET` (+ optional
  `SLACK_SCOPES`, `SLACK_REDIRECT_URI`): Bolt's OAuth flow stores each installation with slack_sdk's
  async SQLAlchemy installation store, in svbot's own database (tables from migration 0003_slack).
  Chat ids are then `TEAM:CHANNEL`, so a reminder can find the workspace's token.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pydantic import ValidationError
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from svbot.channels.base import ChatCore, WebMount
from svbot.channels.slack.render import (
    ACTION_PREFIX,
    DATE_ACTION,
    button_label,
    owner_of,
    render,
    render_choice_made,
    ticked_labels,
)
from svbot.channels.slack.sender import _error_code, _secret, installation_stores, make_web_client, post_outbound
from svbot.channels.turnqueue import TurnQueue
from svbot.config import Settings
from svbot.dialogue.payloads import Action, decode
from svbot.dialogue.state import ConvState
from svbot.messages import Inbound, Outbound
from svbot.models import Conversation
from svbot.text import text
from svbot.turns import conversation_key

log = logging.getLogger(__name__)
# Refused requests: one line each, and at most one a minute of each kind under `svbot serve` (an
# attacker's flood is not a log's worth of lines; svbot/web_limits.py).
refused = logging.getLogger("svbot.web.refused")

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

# In English, for tests: a person is told text(key) at the time, in the current locale (the adapter
# speaks before the turn has read the conversation's locale, or after a turn that failed).
SORRY_OLD_BUTTON = text("channels.slack.old_button")
SEE_DM = text("channels.slack.see_dm")
SENT_TO_DM = text("channels.slack.sent_to_dm")
TYPED_ONLY = text("channels.slack.typed_only")

# What the code below listens to and needs, checked against deploy/slack-app-manifest.yml by a test.
BOT_EVENTS = ("app_mention", "message.im", "message.channels", "message.groups", "app_uninstalled", "tokens_revoked")
BOT_SCOPES = (
    "app_mentions:read",  # app_mention
    "channels:history",  # message.channels: answers typed in svbot's threads in public channels
    "groups:history",  # message.groups: ... and in private channels
    "chat:write",
    "commands",  # /svbot
    "files:write",  # the Word files
    "im:history",  # message.im
    "im:write",  # conversations.open: private things go to the person's DM
)
SLASH_COMMAND = "/svbot"


# -- the channel -----------------------------------------------------------------------------------------


class SlackChannel:
    """One Bolt AsyncApp wired to the core. Build it once per process."""

    def __init__(
        self,
        bot: ChatCore,
        settings: Settings,
        *,
        installation_store: AsyncInstallationStore | None = None,
        socket_mode: bool = False,
        max_turns: int | None = None,
    ) -> None:
        self.bot = bot
        self.settings = settings
        # SQLite takes one writer at a time: turns racing for its lock only add waiting (its busy
        # handler sleeps), so run them one by one there. The ack never waits for this.
        if max_turns is None:
            max_turns = 1 if settings.async_database_url.startswith("sqlite") else 8
        self.max_turns = max_turns
        self.queue: TurnQueue[_Job] = TurnQueue(bot, self._deliver, workers=max_turns)
        self._session: aiohttp.ClientSession | None = None
        self._auth_test: asyncio.Task[None] | None = None
        self._engine: AsyncEngine | None = None
        self._dms: dict[str, str] = {}  # TEAM:USER -> their DM with svbot
        self.multi_workspace = settings.slack_bot_token is None and settings.slack_oauth_enabled
        self.app = self._build_app(installation_store, socket_mode)
        self._register()

    def _build_app(self, store: AsyncInstallationStore | None, socket_mode: bool) -> AsyncApp:
        settings = self.settings
        secret = _secret(settings.slack_signing_secret)
        if not self.multi_workspace:
            token = _secret(self.settings.slack_bot_token)
            return AsyncApp(
                client=make_web_client(self.settings, token),
                signing_secret=secret,
                request_verification_enabled=not socket_mode,
                raise_error_for_unhandled_request=False,
                process_before_response=True,  # our listeners only queue the work: answer when they return
                before_authorize=self._one_auth_test,
            )
        assert settings.slack_client_id is not None and settings.slack_client_secret is not None
        state_store = None
        if store is None:
            store, state_store = installation_stores(settings, settings.slack_client_id)
            self._engine = store.engine
        oauth_settings = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            scopes=[s.strip() for s in settings.slack_scopes.split(",") if s.strip()],
            redirect_uri=settings.slack_redirect_uri,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            installation_store=store,
            state_store=state_store,
        )
        return AsyncApp(
            client=make_web_client(self.settings),
            signing_secret=secret,
            oauth_settings=oauth_settings,
            installation_store=store,
            raise_error_for_unhandled_request=False,
            process_before_response=True,
        )

    def _register(self) -> None:
        app = self.app
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_mention)
        app.command(SLASH_COMMAND)(self._on_command)
        app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)
        # Anything else: acknowledge (so Slack does not retry or show an error) and, for a button
        # we did not make or no longer know, say so kindly.
        app.action(re.compile(".*"))(self._on_unknown_action)
        if self.multi_workspace:
            # Bolt's own listeners delete the workspace's installation (or its revoked tokens) from the
            # store, so reminders for that workspace stop: the sender finds no token and gives up.
            app.enable_token_revocation_listeners()
        else:
            app.event("app_uninstalled")(self._uninstalled)
            app.event("tokens_revoked")(self._uninstalled)
        app.event(re.compile(".*"))(self._ignore)

    def mount(self) -> WebMount:
        """`POST /slack/events` (and the OAuth install pages in multi-workspace mode)."""
        handler = AsyncSlackRequestHandler(self.app)
        verifier = SignatureVerifier(_secret(self.settings.slack_signing_secret) or "")

        async def endpoint(request: Request) -> Response:
            # Read first, outside the try below: a body over the web process's limit is refused there
            # (413), and a client that goes away mid-body is not a request svbot could not read.
            body = await request.body()
            if request.method == "POST" and not _signed(verifier, body, request):
                # Checked before Bolt parses the body, or logs it (Bolt writes a refused body to its log).
                refused.warning("slack: a request with a bad or old signature was refused")
                return JSONResponse({"error": "invalid request"}, status_code=401)
            self.share_session()
            try:
                response = await handler.handle(request)
            except Exception as exc:  # Bolt could not make sense of the request (nested too deep, say)
                refused.warning("slack: a signed request svbot could not read was refused (%s)", type(exc).__name__)
                return Response("bad request", status_code=400)
            if response.status_code >= 500:
                # Turns run after the ack, so a 5xx here means the body itself was malformed (a field
                # of the wrong type): Slack would only send it again. Say so, once.
                refused.warning("slack: a malformed request was refused")
                return Response("bad request", status_code=400)
            return response

        routes = [Route(EVENTS_PATH, endpoint, methods=["POST"])]
        if self.multi_workspace:
            routes += [Route(path, endpoint, methods=["GET"]) for path in (INSTALL_PATH, REDIRECT_PATH)]
        return WebMount(routes=routes, on_startup=[], on_shutdown=[self.close])

    def share_session(self) -> None:
        """One aiohttp session for every Web API call: Bolt gives each request a client made from
        `app.client`, session included, so connections to Slack are kept and reused. Made on the
        first request because a session belongs to the running event loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self.app.client.session = self._session

    async def _one_auth_test(self, next_: Callable[[], Awaitable[Any]]) -> None:
        """Bolt middleware, run before authorisation (so only for requests with a good signature).
        In single-workspace mode Bolt asks Slack who we are (auth.test) on the first request and
        keeps the answer, but every request arriving before that answer asks again, each waiting for
        its own call before its ack. Here the first request starts one call that fills Bolt's cache,
        and the requests arriving meanwhile wait for that one."""
        if self._auth_test is None:
            self._auth_test = asyncio.create_task(self._fill_auth_test_cache())
        if not self._auth_test.done():
            await asyncio.shield(self._auth_test)
        await next_()

    async def _fill_auth_test_cache(self) -> None:
        # Bolt has no public way to fill its cache: its middleware list is private. If that changes,
        # nothing breaks: Bolt asks for itself, as before.
        for middleware in getattr(self.app, "_async_middleware_list", ()):
            if isinstance(middleware, AsyncSingleTeamAuthorization) and middleware.auth_test_result is None:
                try:
                    middleware.auth_test_result = await self.app.client.auth_test()
                except Exception as exc:  # only a cache: Bolt asks again itself and answers the failure
                    self._auth_test = None  # so the next request tries again
                    log.warning("slack auth.test failed: %s", type(exc).__name__)

    @property
    def turns_handled(self) -> int:
        return self.queue.turns_handled

    @property
    def turns_finished(self) -> int:
        return self.queue.turns_finished

    async def close(self) -> None:
        """Let turns already acknowledged finish (Slack will not send them again), then let go."""
        await self.queue.close()
        if self._session is not None:
            await self._session.close()
        if self._engine is not None:
            await self._engine.dispose()

    # -- listeners: acknowledge and queue, nothing more ------------------------------------------

    async def _on_message(self, event: dict, body: dict, client: AsyncWebClient, context: Any) -> None:
        subtype = event.get("subtype")
        if _from_a_bot(event, context) or subtype not in (None, "file_share"):
            return  # edits, joins and other bots' posts are not turns
        kind = event.get("channel_type")
        text_said = event.get("text") or ""
        if kind == "im":
            # The DM is one conversation; a reply in one of its threads is answered in that thread.
            thread_ts, thread_id, is_group = event.get("thread_ts"), None, False
        elif kind in ("channel", "group") and event.get("thread_ts"):
            if f"<@{context.bot_user_id}>" in text_said:
                return  # a mention: app_mention brings it
            thread_ts = thread_id = event["thread_ts"]
            is_group = True
        else:
            return  # a channel's own messages are not for us (a mention comes as app_mention)
        inbound = self._inbound(
            body,
            user=event.get("user", ""),
            channel=event["channel"],
            text=text_said,
            event_id=body.get("event_id"),
            thread_id=thread_id,
            is_group=is_group,
        )
        if is_group and not await self._conversing(inbound):
            return  # someone else's thread, or chat after the walk-through: not ours, nothing stored
        if subtype == "file_share":
            said = text("channels.slack.typed_only")
            self.queue.background(
                _quietly(client.chat_postMessage(channel=event["channel"], text=said, thread_ts=thread_ts))
            )
            return
        await self.queue.put(_Job(inbound, client, event["channel"], thread_ts))

    async def _conversing(self, inbound: Inbound) -> bool:
        """Is this person in a walk-through in this thread? One read by the conversation's unique key:
        a thread svbot was mentioned in has that row; any other thread has none."""
        query = select(Conversation.state).where(Conversation.key == conversation_key(inbound))
        async with self.bot.sessionmaker() as session:
            state = await session.scalar(query)
        if state is None:
            return False
        try:
            return ConvState.model_validate(state).under_way
        except ValidationError:
            return False

    async def _on_mention(self, event: dict, body: dict, client: AsyncWebClient, context: Any) -> None:
        if _from_a_bot(event, context):
            return
        text = (event.get("text") or "").replace(f"<@{context.bot_user_id}>", " ")
        thread_ts = event.get("thread_ts") or event["ts"]
        inbound = self._inbound(
            body,
            user=event.get("user", ""),
            channel=event["channel"],
            text=" ".join(text.split()),
            event_id=body.get("event_id"),
            thread_id=thread_ts,
            is_group=True,
        )
        await self.queue.put(_Job(inbound, client, event["channel"], thread_ts))

    async def _on_command(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict,
        client: AsyncWebClient,
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        await ack()
        # Which conversation the command belongs to takes a call to Slack: after the ack.
        self.queue.background(self._command(body, client, respond))

    async def _command(self, body: dict, client: AsyncWebClient, respond: Callable[..., Awaitable[Any]]) -> None:
        channel = body.get("channel_id", "")
        team, user = _team_id(body), body.get("user_id", "")
        try:
            dm = await self._open_dm(client, team, user)
        except SlackApiError as exc:  # without a DM there is nowhere private to answer: say sorry, there
            log.warning("slack: conversations.open failed for a command: %s", _error_code(exc))
            await respond(text=text("channels.slack.sorry"), response_type="ephemeral")
            return
        if channel == dm:
            await self.queue.put(self._command_job(body, client, dm))
        elif channel.startswith("D"):
            # A DM between two people: svbot is not in it, so it answers there through the command's
            # response_url, seen by the person alone; the conversation is still their DM's with svbot.
            await self.queue.put(self._command_job(body, client, dm, respond=respond))
        else:
            # Answers may hold the organisation's data: keep them out of shared channels.
            await respond(text=text("channels.slack.see_dm"), response_type="ephemeral")
            await self.queue.put(self._command_job(body, client, dm))

    def _command_job(
        self, body: dict, client: AsyncWebClient, dm: str, respond: Callable[..., Awaitable[Any]] | None = None
    ) -> _Job:
        words = " ".join((body.get("text") or "").split()) or "help"
        inbound = self._inbound(
            body,
            user=body.get("user_id", ""),
            channel=dm,
            text=words,
            event_id="cmd:" + str(body.get("trigger_id") or ""),
            user_name=body.get("user_name"),
        )
        return _Job(inbound, client, dm, respond=respond)

    async def _on_action(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict,
        action: dict,
        client: AsyncWebClient,
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        await ack()
        message = body.get("message") or {}
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        thread_ts = message.get("thread_ts")
        user = body.get("user") or {}
        owner = owner_of(action.get("block_id"))
        if owner is not None and owner != user.get("id"):
            # Someone else's question: tell the presser alone, change nothing.
            said = text("channels.slack.not_yours", name=f"<@{owner}>")
            sorry = client.chat_postEphemeral(channel=channel, user=user.get("id", ""), text=said, thread_ts=thread_ts)
            self.queue.background(_quietly(sorry))
            return
        if action.get("action_id") == DATE_ACTION:
            text_said, payload = action.get("selected_date"), None
            label = text_said or ""
        else:
            text_said, payload = None, str(action.get("value", ""))
            label = _choice_label(message.get("blocks") or [], action, payload)
        inbound = self._inbound(
            body,
            user=user.get("id", ""),
            channel=channel,
            text=text_said,
            payload=payload,
            event_id="act:" + str(body.get("trigger_id") or action.get("action_ts")),
            thread_id=thread_ts,
            user_name=user.get("username") or user.get("name"),
            is_group=not channel.startswith("D"),
        )
        if container.get("is_ephemeral"):
            # A button on an answer to /svbot in a DM between two people: answer the same way.
            self.queue.background(self._ephemeral_press(inbound, client, respond, label))
            return
        pressed = (message, label) if message.get("ts") else None
        await self.queue.put(_Job(inbound, client, channel, thread_ts, pressed))

    async def _ephemeral_press(
        self, inbound: Inbound, client: AsyncWebClient, respond: Callable[..., Awaitable[Any]], label: str
    ) -> None:
        team, _, user = inbound.user_id.rpartition(":")
        dm = await self._open_dm(client, team, user)
        inbound = replace(inbound, chat_id=self._chat_id(team, dm), is_group=False, thread_id=None)
        await self.queue.put(_Job(inbound, client, dm, respond=respond, pressed=({}, label)))

    async def _on_unknown_action(self, ack: Callable[..., Awaitable[Any]], body: dict, client: AsyncWebClient) -> None:
        await ack()
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        if channel and user:
            sorry = client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=text("channels.slack.old_button"),
                thread_ts=(body.get("message") or {}).get("thread_ts"),
            )
            self.queue.background(_quietly(sorry))

    async def _ignore(self) -> None:
        return None

    async def _uninstalled(self, event: dict) -> None:
        # One workspace, one token from the settings: nothing to delete; sends now fail as permanent.
        log.warning("slack: svbot was removed from the workspace or its token revoked (%s)", event.get("type"))

    def _inbound(
        self,
        body: dict,
        *,
        user: str,
        channel: str,
        text: str | None,
        event_id: str | None,
        payload: str | None = None,
        thread_id: str | None = None,
        user_name: str | None = None,
        is_group: bool = False,
    ) -> Inbound:
        team = _team_id(body)
        return Inbound(
            platform=PLATFORM,
            user_id=f"{team}:{user}",
            chat_id=self._chat_id(team, channel),
            text=text,
            payload=payload,
            event_id=event_id,
            received_at=datetime.now(UTC),
            user_name=user_name,
            thread_id=thread_id,
            is_group=is_group,
        )

    def _chat_id(self, team: str, channel: str) -> str:
        return f"{team}:{channel}" if self.multi_workspace else channel

    async def _open_dm(self, client: AsyncWebClient, team: str, user: str) -> str:
        """The person's DM with svbot (conversations.open), remembered: it never changes."""
        key = f"{team}:{user}"
        if key not in self._dms:
            opened = await client.conversations_open(users=user)
            self._dms[key] = opened["channel"]["id"]
        return self._dms[key]

    # -- after the ack: the replies ------------------------------------------------------------------

    async def _deliver(self, job: _Job, replies: list[Outbound] | None) -> None:
        """Post a turn's replies (the queue calls this in order, per person)."""
        try:
            if replies is None:
                said = text("channels.slack.sorry")
                await _quietly(self._post_text(job, said))
                return
            if not replies:
                return  # seen before: answered already
            if job.pressed is not None:
                replies = await self._update_pressed(job, replies)
            moved = False
            for reply in replies:
                if job.inbound.is_group and reply.take_private:
                    await self._take_private(job, reply)
                elif (job.inbound.is_group or job.respond is not None) and (reply.private or reply.file):
                    # For the person alone: their DM with svbot, never a shared channel.
                    team, _, user = job.inbound.user_id.rpartition(":")
                    await post_outbound(job.client, await self._open_dm(job.client, team, user), reply)
                    moved = True
                elif job.respond is not None:
                    for part in render(reply):
                        await job.respond(text=part.text, blocks=part.blocks, response_type="ephemeral",
                                          replace_original=False)  # fmt: skip
                else:
                    await post_outbound(job.client, job.channel, reply, thread_ts=job.thread_ts, owner=job.owner)
            if moved:
                await self._post_text(job, text("channels.slack.sent_to_dm"))
        except SlackApiError as exc:
            log.warning("slack could not take our reply (event %s): %s", job.inbound.event_id, _error_code(exc))

    async def _post_text(self, job: _Job, said: str) -> Any:
        if job.respond is not None:
            return await job.respond(text=said, response_type="ephemeral", replace_original=False)
        return await job.client.chat_postMessage(channel=job.channel, text=said, thread_ts=job.thread_ts)

    async def _take_private(self, job: _Job, note: Outbound) -> None:
        """A command about the person's organisation, said in a channel: run it again in their DM (the
        core's `take_private` contract) and leave its note in the thread."""
        team, _, user = job.inbound.user_id.rpartition(":")
        dm = await self._open_dm(job.client, team, user)
        event_id = job.inbound.event_id + ":private" if job.inbound.event_id else None
        private = replace(
            job.inbound, chat_id=self._chat_id(team, dm), is_group=False, thread_id=None, event_id=event_id
        )
        await self.queue.put(_Job(private, job.client, dm))
        await post_outbound(job.client, job.channel, replace(note, take_private=False), thread_ts=job.thread_ts)

    async def _update_pressed(self, job: _Job, replies: list[Outbound]) -> list[Outbound]:
        """Change the message whose button was pressed: to the first reply when the core asked to
        replace it (a multi-choice toggle), else to a note of the choice. Old buttons disappear."""
        assert job.pressed is not None
        message, label = job.pressed
        client, channel = job.client, job.channel
        if replies[0].replace_previous and not replies[0].file:
            first = render(replies[0], owner=job.owner)
            if job.respond is not None:
                await job.respond(text=first[0].text, blocks=first[0].blocks, replace_original=True)
            else:
                await client.chat_update(channel=channel, ts=message["ts"], text=first[0].text, blocks=first[0].blocks)
            for extra in first[1:]:
                if job.respond is not None:
                    await job.respond(text=extra.text, blocks=extra.blocks, response_type="ephemeral",
                                      replace_original=False)  # fmt: skip
                else:
                    await client.chat_postMessage(
                        channel=channel, text=extra.text, blocks=extra.blocks, thread_ts=message.get("thread_ts")
                    )
            return replies[1:]
        if job.respond is not None:
            return replies  # Slack does not send an ephemeral message back with a press: leave it be
        # The note of the choice, in the locale the turn answered in.
        blocks = render_choice_made(message.get("blocks") or [], label, replies[0].meta.get("locale"))
        await client.chat_update(channel=channel, ts=message["ts"], text=message.get("text") or label, blocks=blocks)
        return replies


@dataclass(slots=True)
class _Job:
    """A turn acknowledged and waiting in the queue, with where its replies go."""

    inbound: Inbound
    client: AsyncWebClient
    channel: str
    thread_ts: str | None = None
    pressed: tuple[dict, str] | None = None  # the message whose button was pressed, and the button's label
    # Answer through the response_url instead (a /svbot command in a DM svbot is not in).
    respond: Callable[..., Awaitable[Any]] | None = None

    @property
    def owner(self) -> str | None:
        """Whose question it is, in a channel: their buttons are theirs alone."""
        return self.inbound.user_id.rpartition(":")[2] if self.inbound.is_group else None


# -- helpers -----------------------------------------------------------------------------------------


def _signed(verifier: SignatureVerifier, body: bytes, request: Request) -> bool:
    """Slack's signature and timestamp (at most 5 minutes old), as Bolt checks them."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    if not timestamp.isdigit():
        return False
    return verifier.is_valid(body, timestamp, request.headers.get("x-slack-signature", ""))


def _team_id(body: dict) -> str:
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    return str(team or (body.get("user") or {}).get("team_id") or "")


def _from_a_bot(event: dict, context: Any) -> bool:
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or (event.get("user") and event.get("user") == context.bot_user_id)
    )


def _choice_label(blocks: list[dict], action: dict, payload: str) -> str:
    """What the pressed button chose, for the note left on its message: after Done on a multi-choice,
    the choices ticked, not the word Done."""
    press = decode(payload)
    ticked = ticked_labels(blocks) if press is not None and press.action == Action.DONE else []
    return ", ".join(ticked) or button_label(blocks, action.get("action_id", ""), payload) or payload


async def _quietly(call: Awaitable[Any]) -> None:
    """A courtesy message: if Slack will not take it, log and carry on."""
    try:
        await call
    except SlackApiError as exc:
        log.warning("slack courtesy message not sent: %s", _error_code(exc))
