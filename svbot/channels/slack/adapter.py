"""The Slack channel: a slack-bolt AsyncApp that turns Slack requests into chat turns.

People reach svbot in a direct message, by mentioning it in a channel (it answers in a thread), with
`/svbot <words>` and by pressing the buttons it sends. Bolt checks the signature and the timestamp
(older than 5 minutes: 401) before any listener sees a request, and drops the bot's own messages; we
also drop other bots' messages.

Ack first, work after. Slack wants an answer within 3 seconds, and on SQLite a turn runs on the event
loop's thread (svbot/sqlite_inloop.py), so a turn holds up every request behind it. So a listener only
acknowledges and puts the turn in a queue (Bolt runs with `process_before_response=True` and answers
as soon as the listener returns, instead of polling every 10 ms for the ack); worker tasks take turns
from the queue one at a time and let waiting requests run between turns; and the replies go to Slack
in a task of their own (in order per person), so the next turn need not wait for Slack. All Web API
calls share one aiohttp session, so they reuse connections instead of opening one per call.

Two ways to run it:
- HTTP: :func:`slack_mount` gives the web process `POST /slack/events` (and, in OAuth mode,
  `GET /slack/install` and `GET /slack/oauth_redirect`).
- Socket Mode: :func:`run_socket_mode` (the `svbot slack-socket` command) for installs without a
  public URL.

Two ways to authorise:
- Single workspace: `SLACK_BOT_TOKEN` + `SLACK_SIGNING_SECRET`.
- Many workspaces: no bot token, but `SLACK_CLIENT_ID` + `SLACK_CLIENT_SECRET` (+ optional
  `SLACK_SCOPES`, `SLACK_REDIRECT_URI`): Bolt's OAuth flow stores each installation with slack_sdk's
  async SQLAlchemy installation store, in svbot's own database (tables from migration 0003_slack).
  Chat ids are then `TEAM:CHANNEL`, so a reminder can find the workspace's token.

:class:`SlackSender` sends reminders and broadcasts, mapping Slack's errors to RetryLater /
PermanentFailure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from pydantic import SecretStr
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from svbot.channels.base import WebMount
from svbot.channels.slack.render import (
    ACTION_PREFIX,
    DATE_ACTION,
    button_label,
    render,
    render_choice_made,
)
from svbot.config import Settings
from svbot.messages import Inbound, Outbound, PermanentFailure, RetryLater

if TYPE_CHECKING:
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

log = logging.getLogger(__name__)

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
RATE_LIMIT_RETRIES = 3  # tries after the first 429, each after Slack's Retry-After
# Turns acknowledged but not yet run. When it is full, acks wait for room: Slack then sees a slow app
# and retries later, which is better than holding an unbounded backlog in memory.
TURN_QUEUE_SIZE = 5_000

SORRY_BROKEN = "Sorry, something went wrong on our side. Please try again in a minute."
SORRY_OLD_BUTTON = "Sorry, that button no longer works. Type help to see what you can do."
SEE_DM = "I've answered you in our direct messages."

# Slack errors that will never go away by trying again: tell an admin, stop sending to that chat.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "account_inactive",
        "not_in_channel",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "restricted_action",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "ekm_access_denied",
        "team_access_not_granted",
        "msg_too_long",
        "invalid_blocks",
        "invalid_arguments",
        "too_many_attachments",
        "no_text",
    }
)
# Slack's side had a passing fault.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


class TurnHandler(Protocol):
    """What the channel needs from the core: svbot.turns.Bot fits."""

    async def handle(self, inbound: Inbound) -> list[Outbound]: ...


# -- composition ---------------------------------------------------------------------------------------


def slack_mount(bot: TurnHandler, settings: Settings) -> WebMount:
    """The routes Slack needs in the web process; an empty mount when Slack is not configured."""
    if settings.slack_signing_secret is None or not (settings.slack_bot_token or settings.slack_oauth_enabled):
        return WebMount()
    return SlackChannel(bot, settings).mount()


async def run_socket_mode(bot: TurnHandler, settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve Slack over Socket Mode until `stop` is set or the task is cancelled (the `svbot slack-socket`
    worker). Either way, turns already acknowledged finish first: Slack will not send them again."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    if settings.slack_app_token is None or settings.slack_bot_token is None:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN.")
    channel = SlackChannel(bot, settings, socket_mode=True)
    channel.share_session()
    handler = AsyncSocketModeHandler(channel.app, settings.slack_app_token.get_secret_value())
    # Until Slack takes the app token, slack_sdk keeps trying to connect (and logs why it cannot): connect
    # alongside the wait, so a worker that never got through still stops when told.
    connecting = asyncio.create_task(handler.connect_async())
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        connecting.cancel()
        await asyncio.wait([connecting])
        await handler.close_async()
        await channel.close()


def socket_mode_worker(bot: TurnHandler, settings: Settings) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The `svbot slack-socket` worker: Socket Mode until the stop event is set."""
    if settings.slack_app_token is None or settings.slack_bot_token is None:
        raise SlackSetupError("set SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN to use Socket Mode")

    async def work(stop: asyncio.Event) -> None:
        await run_socket_mode(bot, settings, stop)

    return work


class SlackSetupError(ValueError):
    """Something the operator can fix in the settings; one line, no secrets."""


def make_web_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """A client for SLACK_API_URL that waits out rate limits (Retry-After) instead of failing."""
    base_url = settings.slack_api_url.rstrip("/") + "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,  # slack_sdk joins URLs with urljoin: without the "/" it drops "/api"
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def installation_stores(
    settings: Settings, client_id: str, engine: AsyncEngine | None = None
) -> tuple[AsyncSQLAlchemyInstallationStore, AsyncSQLAlchemyOAuthStateStore]:
    """slack_sdk's own async SQLAlchemy stores, on svbot's database (tables: migration 0003_slack)."""
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

    from svbot.db import make_engine

    engine = engine or make_engine(settings.database_url)
    store = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    return store, states


# -- the channel -----------------------------------------------------------------------------------------


class SlackChannel:
    """One Bolt AsyncApp wired to the core. Build it once per process."""

    def __init__(
        self,
        bot: TurnHandler,
        settings: Settings,
        *,
        installation_store: AsyncInstallationStore | None = None,
        socket_mode: bool = False,
        max_turns: int | None = None,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.turns_handled = 0  # turns the core has answered
        self.turns_finished = 0  # turns answered and their replies posted (or given up on)
        self._recent = _RecentIds(20_000)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[Any]] = set()  # replies and courtesy messages under way
        self._replying: dict[str, asyncio.Task[Any]] = {}  # per person: the replies going out last
        # SQLite takes one writer at a time: turns racing for its lock only add waiting (its busy
        # handler sleeps), so run them one by one there. The ack never waits for this.
        if max_turns is None:
            max_turns = 1 if settings.async_database_url.startswith("sqlite") else 8
        self.max_turns = max_turns
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(TURN_QUEUE_SIZE)
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._auth_test: asyncio.Task[None] | None = None
        self._engine: AsyncEngine | None = None
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
        app.command("/svbot")(self._on_command)
        app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)
        # Anything else: acknowledge (so Slack does not retry or show an error) and, for a button
        # we did not make or no longer know, say so kindly.
        app.action(re.compile(".*"))(self._on_unknown_action)
        app.event(re.compile(".*"))(self._ignore)

    def mount(self) -> WebMount:
        """`POST /slack/events` (and the OAuth install pages in multi-workspace mode)."""
        handler = AsyncSlackRequestHandler(self.app)

        async def endpoint(request: Request) -> Response:
            self.share_session()
            try:
                response = await handler.handle(request)
            except Exception:  # Bolt could not make sense of the request at all
                log.warning("slack: a request svbot could not read was refused", exc_info=True)
                return Response("bad request", status_code=400)
            if response.status_code >= 500:
                # Turns run after the ack, so a 5xx here means the body itself was malformed (a field
                # of the wrong type): Slack would only send it again. Say so, once.
                log.warning("slack: a malformed request was refused")
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

    async def close(self) -> None:
        """Let turns already acknowledged finish (Slack will not send them again), then let go."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                if self._workers:
                    await self._queue.join()
                while self._tasks:
                    await asyncio.wait(list(self._tasks))
        for worker in self._workers:
            worker.cancel()
        self._workers = []
        if self._session is not None:
            await self._session.close()
        if self._engine is not None:
            await self._engine.dispose()

    # -- listeners: acknowledge and queue, nothing more ------------------------------------------

    async def _on_message(self, event: dict, body: dict, client: AsyncWebClient, context: Any) -> None:
        if event.get("channel_type") != "im" or _from_a_bot(event, context) or event.get("subtype"):
            # Channel messages reach us as app_mention when they are for us; edits, joins and
            # other bots' posts are not turns.
            return
        inbound = self._inbound(
            body,
            user=event.get("user", ""),
            channel=event["channel"],
            text=event.get("text") or "",
            event_id=body.get("event_id"),
        )
        await self._enqueue(_Job(inbound, client, event["channel"]))

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
        await self._enqueue(_Job(inbound, client, event["channel"], thread_ts))

    async def _on_command(
        self,
        ack: Callable[..., Awaitable[Any]],
        body: dict,
        client: AsyncWebClient,
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        await ack()
        channel = body.get("channel_id", "")
        if channel.startswith("D"):
            await self._enqueue(self._command_job(body, client, channel))
        else:
            # Answers may hold the organisation's data: keep them out of shared channels. Finding
            # the direct message takes a call to Slack, so it happens after the ack.
            self._background(self._command_elsewhere(body, client, respond))

    async def _command_elsewhere(
        self, body: dict, client: AsyncWebClient, respond: Callable[..., Awaitable[Any]]
    ) -> None:
        opened = await client.conversations_open(users=body["user_id"])
        await respond(text=SEE_DM, response_type="ephemeral")
        await self._enqueue(self._command_job(body, client, opened["channel"]["id"]))

    def _command_job(self, body: dict, client: AsyncWebClient, channel: str) -> _Job:
        words = " ".join((body.get("text") or "").split()) or "help"
        inbound = self._inbound(
            body,
            user=body.get("user_id", ""),
            channel=channel,
            text=words,
            event_id="cmd:" + str(body.get("trigger_id") or ""),
            user_name=body.get("user_name"),
        )
        return _Job(inbound, client, channel)

    async def _on_action(
        self, ack: Callable[..., Awaitable[Any]], body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        message = body.get("message") or {}
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        thread_ts = message.get("thread_ts")
        if action.get("action_id") == DATE_ACTION:
            text, payload = action.get("selected_date"), None
            label = text or ""
        else:
            text, payload = None, str(action.get("value", ""))
            label = button_label(message.get("blocks") or [], action.get("action_id", ""), payload) or payload
        user = body.get("user") or {}
        inbound = self._inbound(
            body,
            user=user.get("id", ""),
            channel=channel,
            text=text,
            payload=payload,
            event_id="act:" + str(body.get("trigger_id") or action.get("action_ts")),
            thread_id=thread_ts,
            user_name=user.get("username") or user.get("name"),
            is_group=not channel.startswith("D"),
        )
        pressed = (message, label) if message.get("ts") else None
        await self._enqueue(_Job(inbound, client, channel, thread_ts, pressed))

    async def _on_unknown_action(self, ack: Callable[..., Awaitable[Any]], body: dict, client: AsyncWebClient) -> None:
        await ack()
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        if channel and user:
            sorry = client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=SORRY_OLD_BUTTON,
                thread_ts=(body.get("message") or {}).get("thread_ts"),
            )
            self._background(_quietly(sorry))

    async def _ignore(self) -> None:
        return None

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
            chat_id=f"{team}:{channel}" if self.multi_workspace else channel,
            text=text,
            payload=payload,
            event_id=event_id,
            received_at=datetime.now(UTC),
            user_name=user_name,
            thread_id=thread_id,
            is_group=is_group,
        )

    # -- after the ack: the turn queue ------------------------------------------------------------

    async def _enqueue(self, job: _Job) -> None:
        key = job.inbound.event_id or ""
        if key and not self._recent.add(key):
            return  # a retry of something this process is handling or has handled
        if not self._workers:
            self._workers = [asyncio.create_task(self._work()) for _ in range(self.max_turns)]
        await self._queue.put(job)

    async def _work(self) -> None:
        """One worker: take turns from the queue, one at a time."""
        while True:
            job = await self._queue.get()
            try:
                await self._take_turn(job)
            except Exception:
                log.exception("slack turn failed (event %s)", job.inbound.event_id)
            finally:
                self._queue.task_done()
            # A turn on SQLite runs on this thread without pausing. A queue that is not empty hands
            # over the next job without pausing either, so step aside: requests waiting for their
            # ack run now, not after the whole backlog.
            await asyncio.sleep(0)

    async def _take_turn(self, job: _Job) -> None:
        """Hand the inbound to the core, then send the replies in a task of their own."""
        person = job.inbound.chat_id + "|" + job.inbound.user_id
        lock = self._locks.get(person)
        if lock is None:
            lock = self._locks[person] = asyncio.Lock()
        async with lock:  # with several workers: one person's turns in one chat, one at a time, in order
            replies: list[Outbound] | None
            try:
                replies = await self.bot.handle(job.inbound)
                self.turns_handled += 1
            except Exception:
                self._recent.discard(job.inbound.event_id or "")  # let Slack's retry have another go
                log.exception("slack turn failed (event %s)", job.inbound.event_id)
                replies = None
            previous = self._replying.get(person)
            sending = self._background(self._reply(job, replies, previous))
            self._replying[person] = sending
            sending.add_done_callback(lambda done: self._forget_replying(person, done))

    def _forget_replying(self, person: str, done: asyncio.Task[Any]) -> None:
        if self._replying.get(person) is done:
            del self._replying[person]

    async def _reply(self, job: _Job, replies: list[Outbound] | None, previous: asyncio.Task[Any] | None) -> None:
        """Post a turn's replies after the person's previous replies, so they read in order."""
        try:
            if previous is not None:
                await asyncio.wait([previous])
            if replies is None:
                sorry = job.client.chat_postMessage(channel=job.channel, text=SORRY_BROKEN, thread_ts=job.thread_ts)
                await _quietly(sorry)
                return
            if not replies:
                return  # seen before: answered already
            if job.pressed is not None:
                replies = await self._update_pressed(job.client, job.channel, job.pressed, replies)
            for reply in replies:
                await post_outbound(job.client, job.channel, reply, thread_ts=job.thread_ts)
        except SlackApiError as exc:
            log.warning("slack could not take our reply (event %s): %s", job.inbound.event_id, _error_code(exc))
        finally:
            self.turns_finished += 1

    def _background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run after the ack; kept so close() can wait for it, and failures are logged."""
        task = asyncio.create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _update_pressed(
        self, client: AsyncWebClient, channel: str, pressed: tuple[dict, str], replies: list[Outbound]
    ) -> list[Outbound]:
        """Change the message whose button was pressed: to the first reply when the core asked to
        replace it (a multi-choice toggle), else to a note of the choice. Old buttons disappear."""
        message, label = pressed
        if replies[0].replace_previous and not replies[0].file:
            first = render(replies[0])
            await client.chat_update(channel=channel, ts=message["ts"], text=first[0].text, blocks=first[0].blocks)
            for extra in first[1:]:
                await client.chat_postMessage(
                    channel=channel, text=extra.text, blocks=extra.blocks, thread_ts=message.get("thread_ts")
                )
            return replies[1:]
        blocks = render_choice_made(message.get("blocks") or [], label)
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


# -- sending -------------------------------------------------------------------------------------------


async def post_outbound(
    client: AsyncWebClient, channel: str, message: Outbound, thread_ts: str | None = None
) -> str | None:
    """Post one Outbound (several Slack messages when it is long, then its file); return the last ts."""
    last_ts: str | None = None
    for part in render(message):
        response = await client.chat_postMessage(
            channel=channel,
            text=part.text,
            blocks=part.blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        last_ts = response.get("ts") or last_ts
    if message.file is not None:
        await client.files_upload_v2(
            channel=channel,
            content=message.file.content,
            filename=message.file.filename,
            title=message.file.title or message.file.filename,
            thread_ts=thread_ts,
        )
    return last_ts


class SlackSender:
    """Sends reminders and broadcasts to Slack. `chat_id` is a channel id (single workspace) or
    `TEAM:CHANNEL` (multi-workspace: the team's bot token comes from the installation store)."""

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        *,
        installation_store: AsyncInstallationStore | None = None,
    ) -> None:
        self.settings = settings
        self._token = _secret(settings.slack_bot_token)
        self._store = installation_store
        self._engine: AsyncEngine | None = None
        if self._store is None and self._token is None and settings.slack_oauth_enabled:
            assert settings.slack_client_id is not None
            self._store, _ = installation_stores(settings, settings.slack_client_id)
            self._engine = self._store.engine
        self._clients: dict[str | None, AsyncWebClient] = {}

    async def send(self, chat_id: str, message: Outbound) -> str | None:
        team, _, channel = chat_id.rpartition(":")
        client = await self._client(team or None)
        try:
            return await post_outbound(client, channel, message)
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"network: {type(exc).__name__}", retry_after=5.0) from None

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()

    async def _client(self, team: str | None) -> AsyncWebClient:
        key = team if self._token is None else None
        if key in self._clients:
            return self._clients[key]
        token = self._token
        if token is None:
            bot = await self._store.async_find_bot(enterprise_id=None, team_id=team) if self._store else None
            if bot is None:
                raise PermanentFailure(f"svbot is not installed in Slack workspace {team}")
            token = bot.bot_token
        client = self._clients[key] = make_web_client(self.settings, token)
        return client


def delivery_error(exc: SlackApiError) -> RetryLater | PermanentFailure:
    """Which kind of failure a Slack error is. Never includes the token or the request."""
    code = _error_code(exc)
    status = getattr(exc.response, "status_code", 200)
    if status == 429 or code == "ratelimited":
        return RetryLater("ratelimited", retry_after=_retry_after(exc))
    if code in TRANSIENT_ERRORS or status >= 500:
        return RetryLater(code or f"http {status}", retry_after=5.0)
    return PermanentFailure(code or f"http {status}")


# -- helpers -----------------------------------------------------------------------------------------


class _RecentIds:
    """The event ids seen lately, bounded. Catches Slack's retries that arrive while the first
    delivery is still being handled; the core's inbound_events table is the lasting record."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True

    def discard(self, key: str) -> None:
        self._ids.pop(key, None)


def _team_id(body: dict) -> str:
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    return str(team or (body.get("user") or {}).get("team_id") or "")


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _from_a_bot(event: dict, context: Any) -> bool:
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or (event.get("user") and event.get("user") == context.bot_user_id)
    )


def _error_code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or "")
    except Exception:  # a body that was not JSON
        return ""


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", {}) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(1.0, float(raw))
            except ValueError:
                break
    return 1.0


async def _logged(work: Awaitable[None]) -> None:
    """Background work has nobody to raise to: log what goes wrong, with its stack."""
    try:
        await work
    except Exception:
        log.exception("slack background work failed")


async def _quietly(call: Awaitable[Any]) -> None:
    """A courtesy message: if Slack will not take it, log and carry on."""
    try:
        await call
    except SlackApiError as exc:
        log.warning("slack courtesy message not sent: %s", _error_code(exc))


__all__ = [
    "SlackChannel",
    "SlackSetupError",
    "SlackSender",
    "delivery_error",
    "installation_stores",
    "make_web_client",
    "post_outbound",
    "run_socket_mode",
    "slack_mount",
    "socket_mode_worker",
]
