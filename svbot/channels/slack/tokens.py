"""Slack OAuth tokens encrypted at rest (docs/privacy.md, "Secrets at rest").

Many-workspace installs keep each workspace's tokens in slack_sdk's own tables (`slack_installations`,
`slack_bots`). `encrypted(store, settings)` wraps slack_sdk's store so that the four token fields are
Fernet tokens in the database (and so in every backup), and plain again when read. The key is
`SVBOT_ENCRYPTION_KEY`: one or more Fernet keys, comma-separated; the first encrypts, all decrypt
(`MultiFernet`), so a new key goes first, `svbot data rotate-key` re-encrypts every row with it, and
then the old one can be dropped. A value that is not a Fernet token (a row written before encryption)
is read as it is, until `rotate-key` encrypts it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from logging import Logger
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.config import Settings
from svbot.errors import UserError

INSTALLATION_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
BOT_FIELDS = ("bot_token", "bot_refresh_token")
TABLES = {"slack_installations": INSTALLATION_FIELDS, "slack_bots": BOT_FIELDS}
FERNET_PREFIX = "gAAAAA"  # every Fernet token: version byte 0x80, base64url
MAKE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class TokenKeyError(UserError):
    """A stored token that none of the keys in SVBOT_ENCRYPTION_KEY decrypts."""


def fernet(settings: Settings) -> MultiFernet:
    """SVBOT_ENCRYPTION_KEY's keys, the first encrypting; a one-line UserError when missing or malformed."""
    secret = settings.encryption_key.get_secret_value() if settings.encryption_key else ""
    keys = [k.strip() for k in secret.split(",") if k.strip()]
    if not keys:
        raise UserError(
            "Slack OAuth (SLACK_CLIENT_ID) stores each workspace's tokens encrypted: set SVBOT_ENCRYPTION_KEY "
            f"to a Fernet key, made with: {MAKE_KEY}"
        )
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError:
        raise UserError(
            f"SVBOT_ENCRYPTION_KEY: each key must be a Fernet key (32 bytes, base64), made with: {MAKE_KEY}"
        ) from None


def is_encrypted(value: str) -> bool:
    return value.startswith(FERNET_PREFIX)


def encrypt(keys: MultiFernet, value: str | None) -> str | None:
    if value is None or value == "" or is_encrypted(value):
        return value
    return keys.encrypt(value.encode()).decode()


def decrypt(keys: MultiFernet, value: str | None) -> str | None:
    """The plain token; a value that is not a Fernet token (written before encryption) as it is."""
    if value is None or not is_encrypted(value):
        return value
    try:
        return keys.decrypt(value.encode()).decode()
    except InvalidToken:
        raise TokenKeyError(
            "a stored Slack token cannot be decrypted with SVBOT_ENCRYPTION_KEY: was its key dropped too soon?"
        ) from None


def _with(obj: Any, fields: tuple[str, ...], change: Any) -> Any:
    if obj is None:
        return None
    obj = copy.copy(obj)  # the caller's object keeps its plain tokens
    for field in fields:
        setattr(obj, field, change(getattr(obj, field, None)))
    return obj


@dataclass
class EncryptedInstallationStore(AsyncInstallationStore):
    """slack_sdk's AsyncSQLAlchemyInstallationStore with the token fields encrypted in the database."""

    inner: Any  # AsyncSQLAlchemyInstallationStore
    keys: MultiFernet

    @property
    def logger(self) -> Logger:
        return self.inner.logger

    @property
    def engine(self) -> Any:
        return self.inner.engine

    def _enc(self, value: str | None) -> str | None:
        return encrypt(self.keys, value)

    def _dec(self, value: str | None) -> str | None:
        return decrypt(self.keys, value)

    async def async_save(self, installation: Installation) -> None:
        # The inner store saves the bot row too, from this (already encrypted) installation.
        await self.inner.async_save(_with(installation, INSTALLATION_FIELDS, self._enc))

    async def async_save_bot(self, bot: Bot) -> None:
        await self.inner.async_save_bot(_with(bot, BOT_FIELDS, self._enc))

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = await self.inner.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return _with(found, BOT_FIELDS, self._dec)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self.inner.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id, is_enterprise_install=is_enterprise_install
        )
        return _with(found, INSTALLATION_FIELDS, self._dec)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.inner.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.inner.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)


def encrypted(store: Any, settings: Settings) -> EncryptedInstallationStore:
    """Wrap slack_sdk's store; raises a UserError (at start-up) when SVBOT_ENCRYPTION_KEY is missing."""
    return EncryptedInstallationStore(store, fernet(settings))


@dataclass
class Rotated:
    rows: int = 0  # rows whose tokens were re-encrypted with the first key
    plain: int = 0  # of which had plain-text tokens (written before encryption)


async def rotate(conn: AsyncSession, keys: MultiFernet) -> Rotated:
    """Re-encrypt every stored token with the first key (and encrypt plain-text ones)."""
    done = Rotated()
    for table, fields in TABLES.items():
        rows = (await conn.execute(sql(f"SELECT id, {', '.join(fields)} FROM {table}"))).all()
        for row in rows:
            values = dict(zip(fields, row[1:], strict=True))
            changed: dict[str, str] = {}
            plain = False
            for field, value in values.items():
                if not value:
                    continue
                if is_encrypted(value):
                    try:
                        changed[field] = keys.rotate(value.encode()).decode()
                    except InvalidToken:
                        raise TokenKeyError(
                            f"{table} row {row[0]}: {field} cannot be decrypted with any key in SVBOT_ENCRYPTION_KEY"
                        ) from None
                else:
                    changed[field] = keys.encrypt(value.encode()).decode()
                    plain = True
            if not changed:
                continue
            sets = ", ".join(f"{field} = :{field}" for field in changed)
            await conn.execute(sql(f"UPDATE {table} SET {sets} WHERE id = :id"), {**changed, "id": row[0]})
            done.rows += 1
            done.plain += plain
    return done
