"""Settings from the environment (and an optional .env file). See the README for each one."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The bot scopes an OAuth install asks for: the same as deploy/slack-app-manifest.yml (a test checks both).
SLACK_DEFAULT_SCOPES = (
    "app_mentions:read,channels:history,chat:write,commands,files:write,groups:history,im:history,im:write"
)


class Settings(BaseSettings):
    """Every setting and secret svbot reads. Secrets are `SecretStr`: log redaction finds them by type."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # SVBOT_DATABASE_URL too: every other setting of svbot's has the prefix, so people try it.
    database_url: str = Field(
        default="sqlite+aiosqlite:///svbot.db",
        alias="DATABASE_URL",
        validation_alias=AliasChoices("DATABASE_URL", "SVBOT_DATABASE_URL", "database_url"),
    )
    timezone: str = Field(default="Europe/London", alias="SVBOT_TIMEZONE")
    dialogues_dir: Path | None = Field(default=None, alias="SVBOT_DIALOGUES_DIR")
    knowledge_dir: Path | None = Field(default=None, alias="SVBOT_KNOWLEDGE_DIR")
    # After this long without a word, we greet people with "welcome back: continue or start again?".
    idle_minutes: int = Field(default=24 * 60, alias="SVBOT_IDLE_MINUTES")
    # The staff dashboard: where people reach `svbot serve` (for sign-in links), and the key that signs
    # its sessions (generated once and kept in the database for the embedded SQLite default).
    public_url: str = Field(default="http://127.0.0.1:8000", alias="SVBOT_PUBLIC_URL")
    secret_key: SecretStr | None = Field(default=None, alias="SVBOT_SECRET_KEY")
    # Personal data (docs/privacy.md): how long `svbot clock` keeps things, and whom people ask about
    # privacy when their support organisation has given no contact of its own (`svbot data contact`).
    retention_sent_days: int = Field(default=90, alias="SVBOT_RETENTION_SENT_DAYS")  # sent/failed outbox rows
    retention_events_days: int = Field(default=7, alias="SVBOT_RETENTION_EVENTS_DAYS")  # inbound event keys
    retention_abandoned_months: int = Field(default=18, alias="SVBOT_RETENTION_ABANDONED_MONTHS")  # free text
    privacy_contact: str | None = Field(default=None, alias="SVBOT_PRIVACY_CONTACT")
    # Slack OAuth tokens in the database are encrypted with this (required with SLACK_CLIENT_ID): one or
    # more Fernet keys, comma-separated; the first encrypts, all decrypt (svbot/channels/slack/tokens.py).
    encryption_key: SecretStr | None = Field(default=None, alias="SVBOT_ENCRYPTION_KEY")
    # The web process (docs/deploy.md, "Limits"): the largest request body taken, in KB (webhooks and
    # forms; the dashboard's grants upload has its own, larger limit), and the most connections at once
    # (beyond it, 503 at once).
    max_request_kb: int = Field(default=1024, ge=1, alias="SVBOT_MAX_REQUEST_KB")
    max_connections: int = Field(default=2000, ge=10, alias="SVBOT_MAX_CONNECTIONS")

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")

    # Many workspaces (OAuth install at /slack/install) instead of one bot token.
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    slack_scopes: str = Field(default=SLACK_DEFAULT_SCOPES, alias="SLACK_SCOPES")
    slack_redirect_uri: str | None = Field(default=None, alias="SLACK_REDIRECT_URI")

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_webhook_secret: SecretStr | None = Field(default=None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_api_url: str = Field(default="https://api.telegram.org/bot", alias="TELEGRAM_API_URL")
    # The bot's @username, for one-tap links (t.me/<username>?start=CODE); unset: asked of Telegram (getMe).
    telegram_bot_username: str | None = Field(default=None, alias="TELEGRAM_BOT_USERNAME")

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        # Checked here, so a typo is one line when svbot starts rather than a traceback mid-turn.
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone: use a name like Europe/London") from None
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        from sqlalchemy import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(to_async_url(value.strip())).get_backend_name()
        except ArgumentError:
            raise ValueError(
                "that is not a database URL: write it like postgresql://user:password@host/name or sqlite:///svbot.db"
            ) from None
        if backend not in ("postgresql", "sqlite"):
            raise ValueError(f"svbot works with PostgreSQL or SQLite, not {backend}")
        return value.strip()

    @property
    def slack_oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def async_database_url(self) -> str:
        return to_async_url(self.database_url)


def to_async_url(url: str) -> str:
    """Accept the plain URLs people paste (postgres://, sqlite:///) and pick the async driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings; a wrong one raises pydantic's ValidationError (`setting_problems` words it)."""
    return Settings()


def setting_problems(error: ValidationError) -> list[str]:
    """One line per wrong setting, named as people set it (SVBOT_TIMEZONE: ...), never its value."""
    lines = []
    for problem in error.errors():
        where = str(problem["loc"][0]) if problem["loc"] else "a setting"
        field = Settings.model_fields.get(where)
        name = field.alias if field is not None and field.alias else where
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: {message[:1].lower()}{message[1:]}")
    return lines


def settings_despite_problems() -> tuple[Settings, list[str]]:
    """The settings with each wrong one at its default, and what was wrong (for `svbot doctor`, which
    reports every problem instead of stopping at the first)."""
    try:
        return get_settings(), []
    except ValidationError as error:
        wrong = {str(p["loc"][0]) for p in error.errors() if p["loc"]}
        fields = Settings.model_fields.items()
        defaults = {name: field.default for name, field in fields if name in wrong or field.alias in wrong}
        return Settings(**defaults), setting_problems(error)
