"""Sending to Slack: reminders, broadcasts and the adapter's replies.

`SlackSender` posts an Outbound to a channel id (one workspace) or `TEAM:CHANNEL` (many workspaces:
the team's bot token comes from slack_sdk's installation store, in svbot's own database) and turns
Slack's errors into the core's kinds: `RetryLater` (rate limits, passing faults) or
`PermanentFailure` (the channel is gone, the app was removed). Tokens never appear in an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from svbot.channels.slack.render import render
from svbot.config import Settings
from svbot.messages import Outbound, PermanentFailure, RetryLater

if TYPE_CHECKING:
    from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

    from svbot.channels.slack.tokens import EncryptedInstallationStore

PLATFORM = "slack"
RATE_LIMIT_RETRIES = 3  # tries after the first 429, each after Slack's Retry-After


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


# The workspace took svbot's token away.
REVOKED_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})


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
) -> tuple[EncryptedInstallationStore, AsyncSQLAlchemyOAuthStateStore]:
    """slack_sdk's own async SQLAlchemy stores, on svbot's database (tables: migration 0003_slack), the
    tokens encrypted with SVBOT_ENCRYPTION_KEY (svbot/channels/slack/tokens.py)."""
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

    from svbot.channels.slack.tokens import encrypted
    from svbot.db import make_engine

    engine = engine or make_engine(settings.database_url)
    store = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    store = encrypted(store, settings)
    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    return store, states


async def post_outbound(
    client: AsyncWebClient, channel: str, message: Outbound, thread_ts: str | None = None, owner: str | None = None
) -> str | None:
    """Post one Outbound (several Slack messages when it is long, then its file); return the last ts.
    `owner`: in a channel, the user id of the person whose question it is (their buttons alone)."""
    last_ts: str | None = None
    for part in render(message, owner=owner):
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
            if _error_code(exc) in REVOKED_ERRORS:
                # Removed from the workspace: forget its token, so the next send asks the store again
                # (which no longer has it, after app_uninstalled or tokens_revoked).
                self._clients.pop(team if self._token is None else None, None)
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


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


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
