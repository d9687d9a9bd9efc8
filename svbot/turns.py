"""One chat turn, end to end: who is this, where were they, what do we say, all in one transaction.

Every channel calls `Bot.handle(inbound)`. The state is read from the database on every turn
(no cache that could go stale with several workers), the engine decides, and the new state,
the changed answers and the inbound event's de-duplication key are committed together. So a
process killed at any moment either did the whole turn or none of it, and a platform that
delivers the same event twice gets one reply.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from svbot.config import Settings
from svbot.db import cut_connection
from svbot.dialogue.answers import QUALIFIER, clean
from svbot.dialogue.engine import Engine, Result
from svbot.dialogue.payloads import is_engine_payload as _is_engine_payload
from svbot.dialogue.spec import Dialogue
from svbot.dialogue.state import ANY_ITEM, ConvState
from svbot.dialogue.words import COMMAND_WORDS
from svbot.dialogue.words import simplify as _simplify
from svbot.messages import Button, Inbound, MenuEntry, Outbound
from svbot.models import Identity, InboundEvent, Membership
from svbot.text import ENGLISH, current_locale, date_values, localise, speaking, text, use_locale
from svbot.turn_sql import TurnQueries, transaction

log = logging.getLogger(__name__)

SORRY = text("core.sorry")  # in English, for tests and logs: a turn says text("core.sorry") in its own locale


@dataclass(slots=True)
class IdentityRef:
    """The person's chat identity, as read at the start of the turn."""

    id: int
    person_id: int
    platform: str
    chat_id: str | None
    active: bool


@dataclass(slots=True)
class ConversationRef:
    """The conversation row. Set `organisation_id` and it is saved with the turn."""

    id: int
    key: str
    organisation_id: int | None
    version: int
    locale: str | None = None  # what the turn speaks: the conversation's locale, else its organisation's


@dataclass
class Turn:
    """What a feature handler gets: the person, their conversation, and the means to answer."""

    bot: Bot
    queries: TurnQueries  # the turn's own statements, on its connection
    inbound: Inbound
    identity: IdentityRef
    conversation: ConversationRef
    state: ConvState
    now: datetime  # local time in the configured time zone
    text: str  # cleaned, what they typed ("" for a button)
    args: str = ""  # what followed an intent word: "join ABC123" -> "ABC123"
    messages: list[Outbound] = field(default_factory=list)

    @property
    def connection(self) -> AsyncConnection:
        """The turn's connection, inside its transaction."""
        return self.queries.connection

    @property
    def has_session(self) -> bool:
        """Whether this turn has used `session` (so it may hold changes not yet written)."""
        return self._session is not None

    @property
    def session(self) -> AsyncSession:
        """An ORM session in the turn's own transaction, made only for the turns that need one."""
        if self._session is None:
            connection = self.connection
            if not connection.in_transaction():
                # The turn's transaction is the driver's (`turn_sql.transaction`): SQLAlchemy's begins
                # now, inside it (on SQLite joining it, on PostgreSQL as a SAVEPOINT in it), so the session
                # uses it rather than owning (and at its close rolling back) a transaction of its own.
                # Nothing here waits for the database.
                connection.sync_connection.begin()  # type: ignore[union-attr]
            self._session = AsyncSession(bind=connection, expire_on_commit=False)
        return self._session

    def say(self, text: str, **kwargs: Any) -> None:
        self.messages.append(Outbound(text=text, **kwargs))

    def context(self) -> dict[str, Any]:
        """Names for dialogue templates (knowledge, the support organisation's framework, ...),
        gathered once at the start of the turn by the context providers."""
        assert self._context is not None, "the turn's context is loaded before any handler runs"
        return self._context

    async def refresh_context(self) -> None:
        """Gather the context again, after a handler changed what it depends on (the organisation)."""
        self._context = await self.bot.context_for(self)

    def apply(self, result: Result) -> None:
        """Take an engine result: new state, its messages, answers to store, completion hooks later."""
        self.state = result.state
        self.messages.extend(result.messages)
        self._changed.update(result.changed)
        if result.completed:
            self._completed.append(result.completed)

    @property
    def changed(self) -> frozenset[str]:
        """The answer keys set or cleared in this turn so far."""
        return frozenset(self._changed)

    def start_dialogue(self, dialogue_id: str, intro: str | None = None, **kwargs: Any) -> None:
        engine = self.bot.engine
        self.apply(engine.begin(dialogue_id, self.context(), self.now, intro=intro, turn=self.state.turn, **kwargs))

    def __post_init__(self) -> None:
        self._changed: set[str] = set()
        self._completed: list[str] = []
        self._session: AsyncSession | None = None
        self._context: dict[str, Any] | None = None


Handler = Callable[[Turn], Awaitable[None]]


@dataclass(frozen=True)
class Intent:
    """Words that mean the same thing anywhere in a conversation: "what's due?", "/due", "due"."""

    name: str
    words: frozenset[str]
    handler: Handler
    takes_args: bool = False  # "join ABC123": the first word matches, the rest is passed on
    menu: str | None = None  # listed in a platform's command menu with this description
    roles: frozenset[str] = frozenset()  # listed only for people with one of these roles
    private: bool = False  # about the person's organisation: in a group, answered in their private chat


class Bot:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        dialogues: dict[str, Dialogue],
        *,
        knowledge: Any = None,
        timezone: str = "Europe/London",
        idle_after: timedelta = timedelta(hours=24),
        start_dialogue: str | None = None,
        clock: Callable[[], datetime] | None = None,
        message_sizes: dict[str, int] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.db_engine: AsyncEngine = sessionmaker.kw["bind"]
        self.dialogues = dialogues
        self.engine = Engine(dialogues, idle_after)
        self.knowledge = knowledge
        self.tz = ZoneInfo(timezone)
        self.start_dialogue = start_dialogue or _default_dialogue(dialogues)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.message_sizes = dict(message_sizes or {})  # platform -> longest text in one message
        self.intents: list[Intent] = []
        self.payload_handlers: dict[str, Handler] = {}  # "dl" -> reminder buttons "dl:submitted:12"
        # Feature buttons that may be pressed in a group; every other feature button is about the
        # person's organisation (deadlines, statements, reports, members) and is answered in private.
        self.group_payloads: set[str] = {"restart"}
        self.on_complete: dict[str, Handler] = {}  # dialogue id -> what to do when it is finished
        self.on_answers: list[Handler] = []  # after a turn that set or cleared answers (`turn.changed`)
        self.on_turn_end: list[Handler] = []  # after every turn's handlers, before it is saved (the privacy notice)
        self.settings: Settings | None = None  # set by the composition root (svbot/app.py)
        # Each adds names for dialogue templates; it may be async (to read the database).
        self.context_providers: list[Callable[[Turn, dict[str, Any]], Awaitable[None] | None]] = []
        self._add_core_intents()

    # ---- extension points for features ----------------------------------------------------------

    def intent(
        self,
        name: str,
        *words: str,
        takes_args: bool = False,
        menu: str | None = None,
        roles: tuple[str, ...] = (),
        private: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register words that mean one thing anywhere. With `menu`, its "/word" is offered in
        platform menus (to people with one of `roles`, if given). A `private` one, said in a group,
        is answered in the person's private chat (`Outbound.take_private`)."""

        def register(handler: Handler) -> Handler:
            simple = frozenset(_simplify(w) for w in words)
            self.intents.append(Intent(name, simple, handler, takes_args, menu, frozenset(roles), private))
            return handler

        return register

    @property
    def menu(self) -> list[MenuEntry]:
        """The commands a platform menu lists, in the order they were registered."""
        entries = []
        for intent in self.intents:
            command = next((w[1:] for w in sorted(intent.words) if w.startswith("/")), None)
            if intent.menu and command:
                entries.append(MenuEntry(command, intent.menu, intent.roles))
        return entries

    async def chat_menus(self, platform: str) -> dict[str | None, list[MenuEntry]]:
        """The menu for everyone (key None), and a longer one for each chat on `platform` of a person
        whose roles add entries (support admins see /broadcast)."""
        everyone = [entry for entry in self.menu if not entry.roles]
        menus: dict[str | None, list[MenuEntry]] = {None: everyone}
        role_entries = [entry for entry in self.menu if entry.roles]
        if not role_entries:
            return menus
        roles = set().union(*(entry.roles for entry in role_entries))
        query = (
            select(Identity.chat_id, Membership.role)
            .join(Membership, Membership.person_id == Identity.person_id)
            .where(Identity.platform == platform, Identity.active.is_(True), Membership.role.in_(roles))
            .where(Identity.chat_id.is_not(None))
        )
        async with self.sessionmaker() as session:
            held: dict[str, set[str]] = {}
            for chat_id, role in (await session.execute(query)).all():
                held.setdefault(chat_id, set()).add(role)
        for chat_id, their_roles in held.items():
            menus[chat_id] = everyone + [entry for entry in role_entries if entry.roles & their_roles]
        return menus

    async def set_reachable(self, platform: str, user_id: str, active: bool) -> None:
        """The person blocked (or unblocked) us: reminders and broadcasts skip unreachable identities."""
        statement = (
            update(Identity)
            .where(Identity.platform == platform, Identity.platform_user_id == user_id)
            .values(active=active)
        )
        async with self.sessionmaker() as session, session.begin():
            await session.execute(statement)

    def message_size(self, platform: str) -> int:
        return self.message_sizes.get(platform, DEFAULT_MESSAGE_SIZE)

    async def context_for(self, turn: Turn) -> dict[str, Any]:
        context: dict[str, Any] = {"knowledge": self.knowledge, "platform": turn.inbound.platform}
        for provide in self.context_providers:
            result = provide(turn, context)
            if inspect.isawaitable(result):  # a provider may read the database
                await result
        return context

    # ---- the turn ----------------------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        # English until the turn has read its conversation's locale (`_handle`), and only for this turn.
        with speaking(ENGLISH):
            try:
                try:
                    return await self._handle(inbound)
                except IntegrityError:
                    # Two first messages from someone new, taken at once by two workers: both made the
                    # person, and the second to commit lost. Nothing of this turn was kept, and the
                    # person exists now, so the turn is run again once rather than answered "sorry".
                    log.info("another turn made the same row first; running the turn again")
                except DBAPIError as error:
                    if not cut_connection(error):
                        raise
                    # The connection was cut (a restart, a dropped idle connection): the turn's
                    # transaction did not commit, so it is run again once, on a new connection. Should
                    # the cut have come after its COMMIT reached the server, the event is a repeat
                    # delivery the second time and is answered by nothing rather than twice.
                    log.warning("database connection cut; running the turn again", extra={"platform": inbound.platform})
                return await self._handle(inbound)
            except Exception:
                # Never a stack trace in chat: log it with context, say sorry, keep the data as it was.
                log.exception("turn failed", extra={"platform": inbound.platform, "event_id": inbound.event_id})
                return _in_locale([Outbound(text=text("core.sorry"), kind="error")])

    async def _handle(self, inbound: Inbound) -> list[Outbound]:
        now = self.clock().astimezone(self.tz)
        # The turn's own statements (`turn_sql`) on one connection keep the hot path lean; features
        # that want the ORM get `turn.session`, in the same transaction.
        async with transaction(self.db_engine) as connection:
            queries = await TurnQueries.bind(connection)
            key = conversation_key(inbound)
            if inbound.event_id:
                first, row = await queries.claim(self._event(inbound), key)
                if not first:
                    return []  # a repeat delivery
            else:
                row = await queries.first("load", {"key": key})
            identity, conversation, raw_state = await self._load(queries, inbound, key, row)
            if conversation.locale:
                use_locale(conversation.locale)  # the rest of the turn speaks it (dialogues too)
            try:
                state = _read_state(raw_state)
                if state.dialogue is not None and state.dialogue not in self.dialogues:
                    raise ValueError(f"dialogue {state.dialogue!r} no longer exists")
                corrupt = False
            except (ValidationError, ValueError):
                log.warning("unreadable conversation state", extra={"conversation_id": conversation.id})
                state, corrupt = ConvState(), True
            turn = Turn(self, queries, inbound, identity, conversation, state, now, _clean(inbound.text))
            await turn.refresh_context()
            if corrupt:
                await self._recover(turn)
            else:
                await self._route(turn)
            if turn._changed:
                for keep in self.on_answers:
                    await keep(turn)
            for dialogue_id in turn._completed:
                hook = self.on_complete.get(dialogue_id)
                if hook:
                    await hook(turn)
            for finish in self.on_turn_end:
                await finish(turn)
            if turn._session is not None:
                await turn._session.flush()
                await turn._session.close()
            if not corrupt or turn.state.dialogue is not None:
                await self._save(turn)
            return _in_locale(turn.messages) if conversation.locale else turn.messages

    async def _route(self, turn: Turn) -> None:
        inbound = turn.inbound
        if inbound.payload and not _is_engine_payload(inbound.payload):
            prefix = inbound.payload.split(":", 1)[0]
            handler = self.payload_handlers.get(prefix)
            if handler is None:
                turn.say(text("core.old_button"))
                return
            if inbound.is_group and prefix not in self.group_payloads:
                # Buttons are sent privately, but a press is untrusted input: never answer it in a group.
                self._move_private(turn)
                return
            await handler(turn)
            return
        intent, args = self._match_intent(turn.text) if not inbound.payload else (None, "")
        if intent is not None:
            if intent.private and inbound.is_group:
                # Deadlines, statements, reports: never in a shared chat. The channel runs it again
                # in the person's private chat; nothing is changed here.
                self._move_private(turn)
                return
            turn.args = args
            await intent.handler(turn)
            return
        await self._converse(turn)

    def _move_private(self, turn: Turn) -> None:
        """Not run here: the channel runs the same words (or press) in the person's private chat."""
        name = (turn.inbound.user_name or "").split(" ")[0]
        said = text("core.private.moved", name=name) if name else text("core.private.moved_unnamed")
        turn.say(said, take_private=True)

    async def converse(self, turn: Turn) -> None:
        """Give what was said to the walk-through: an intent's word that turned out to be an answer."""
        await self._converse(turn)

    async def _converse(self, turn: Turn, word: str | None = None) -> None:
        """What was said (or `word`, a command word it stands for) goes to the walk-through under way,
        or starts one."""
        inbound, state = turn.inbound, turn.state
        text = word or inbound.text
        if not state.under_way:
            await self._home(turn)
            return
        if state.mode == "paused" and not inbound.payload and _simplify(text or "") not in COMMAND_WORDS:
            turn.apply(self.engine.resume(state, turn.context(), turn.now))
            return
        turn.apply(self.engine.advance(state, turn.context(), turn.now, text=text, payload=inbound.payload))

    def _match_intent(self, text: str) -> tuple[Intent | None, str]:
        said = _simplify(text)
        if not said:
            return None, ""
        for intent in self.intents:
            if said in intent.words:
                return intent, ""
            if intent.takes_args:
                first, _, rest = said.partition(" ")
                if first in intent.words and rest:
                    return intent, text.strip().split(None, 1)[1]
        return None, ""

    async def _home(self, turn: Turn) -> None:
        """Outside any walk-through: a greeting, or the start of one."""
        said = _simplify(turn.text)
        if COMMAND_WORDS.get(said) in ("back", "skip", "unknown"):
            turn.say(text("core.not_in_walk_through"))
            return
        # A first message of any kind starts the walk-through (people open with all sorts); later,
        # words we don't know get the list of what we do, rather than a walk-through they didn't ask for.
        known = turn.conversation.version > 0 or turn.state.mode == "done"
        if COMMAND_WORDS.get(said) == "restart":  # "start again" after finishing: a new walk-through
            await self._start(turn)
            return
        if said == "help" or (known and said and said not in _GREETINGS):
            turn.say(self.home_help())
            return
        await self._start(turn)

    def home_help(self) -> str:
        """What svbot can do, from the registered intents: the list never claims a word nobody handles."""
        everyone = [
            text("core.help.line", command=entry.command, description=localise(entry.description))
            for entry in self.menu
            if not entry.roles
        ]
        admins = [entry.command for entry in self.menu if entry.roles]
        lines = [text("core.help.heading"), *everyone]
        if admins:
            lines.append(text("core.help.admins", commands=", ".join(admins)))
        return "\n".join([*lines, text("core.help.in_a_walk_through")])

    async def _start(self, turn: Turn) -> None:
        state = turn.state
        if state.dialogue is not None and state.mode not in ("idle", "done"):
            turn.apply(self.engine.resume(state, turn.context(), turn.now))
            return
        suggestions = await self.evidence_bank(turn, self.start_dialogue)
        intro = text("core.start.welcome_back") if suggestions else text("core.start.hello")
        turn.start_dialogue(self.start_dialogue, intro=intro, suggestions=suggestions)

    async def _recover(self, turn: Turn) -> None:
        if turn.inbound.payload == "restart" or _simplify(turn.text) in ("restart", "start", "start again"):
            turn.state = ConvState()
            await self._start(turn)
            return
        turn.say(text("core.damaged"), buttons=(Button(text("core.restart_button"), "restart"),), kind="error")

    # ---- core intents ----------------------------------------------------------------------

    def _add_core_intents(self) -> None:
        # The words people type are input, not svbot's words: they stay here (and in dialogue/words.py).
        words = ("start", "/start", "begin", "hi", "hello", "hey", "menu", "resume", "continue")

        @self.intent("start", *words, menu=text("core.start.menu"))
        async def start(turn: Turn) -> None:
            await self._start(turn)

        @self.intent("status", "status", "/status", menu=text("core.status.menu"))
        async def status(turn: Turn) -> None:
            if turn.state.under_way:
                await self._converse(turn, "status")  # the walk-through says where they are
            else:
                turn.say(text("core.status.idle"))

        @self.intent("cancel", "cancel", "/cancel", menu=text("core.cancel.menu"))
        async def cancel(turn: Turn) -> None:
            if turn.state.under_way:
                await self._converse(turn, "cancel")
            else:
                turn.say(text("core.cancel.idle"))

        @self.intent("help_home", "commands", "what can you do", "/help", menu=text("core.help.menu"))
        async def help_home(turn: Turn) -> None:
            turn.say(self.home_help())

        async def restart(turn: Turn) -> None:  # the button on "my notes are damaged"
            turn.state = ConvState()
            await self._start(turn)

        self.payload_handlers["restart"] = restart

    # ---- storage ---------------------------------------------------------------------------

    @staticmethod
    def _event(inbound: Inbound) -> dict[str, Any]:
        """The inbound event's de-duplication key, as stored."""
        return {"platform": inbound.platform, "event_id": str(inbound.event_id)[:200], "received_at": datetime.now(UTC)}

    async def _load(
        self, queries: TurnQueries, inbound: Inbound, key: str, row: Mapping[str, Any] | None
    ) -> tuple[IdentityRef, ConversationRef, str | None]:
        """Who, which conversation (`row`, as `turn_sql.LOAD` gives it; None: a new one), and its state as
        JSON text."""
        if row is None:
            identity = await self._identity(queries, inbound)
            now = datetime.now(UTC)
            conversation_id = await queries.new_id(
                "new_conversation",
                {"key": key, "identity_id": identity.id, "state": {}, "version": 0,
                 "created_at": now, "updated_at": now},
            )  # fmt: skip
            return identity, ConversationRef(conversation_id, key, None, 0), "{}"
        identity = IdentityRef(row["identity_id"], row["person_id"], inbound.platform, row["chat_id"], row["active"])
        await self._refresh_identity(queries, inbound, identity)
        conversation = ConversationRef(row["id"], key, row["organisation_id"], row["version"], row["locale"])
        return identity, conversation, row["state"]

    async def _identity(self, queries: TurnQueries, inbound: Inbound) -> IdentityRef:
        row = await queries.first("identity", {"platform": inbound.platform, "user_id": inbound.user_id})
        if row is not None:
            identity = IdentityRef(row["id"], row["person_id"], inbound.platform, row["chat_id"], row["active"])
            await self._refresh_identity(queries, inbound, identity)
            return identity
        now = datetime.now(UTC)
        name = (inbound.user_name or "")[:200]
        person_id = await queries.new_id("new_person", {"display_name": name, "created_at": now})
        chat_id = None if inbound.is_group else inbound.chat_id
        identity_id = await queries.new_id(
            "new_identity",
            {"person_id": person_id, "platform": inbound.platform, "platform_user_id": inbound.user_id,
             "chat_id": chat_id, "display_name": name, "active": True, "created_at": now},
        )  # fmt: skip
        return IdentityRef(identity_id, person_id, inbound.platform, chat_id, True)

    async def _refresh_identity(self, queries: TurnQueries, inbound: Inbound, identity: IdentityRef) -> None:
        """They wrote to us directly, so we can reach them there again (and they have unblocked us)."""
        if inbound.is_group or (identity.chat_id == inbound.chat_id and identity.active):
            return
        identity.chat_id, identity.active = inbound.chat_id, True
        await queries.run("reachable", {"iid": identity.id, "chat_id": inbound.chat_id})

    async def _save(self, turn: Turn) -> None:
        """The new state, and the changed answers copied to the evidence bank (restart clears the state,
        never the bank)."""
        conversation, state = turn.conversation, turn.state
        now = datetime.now(UTC)
        answers = self._changed_answers(turn, state.dialogue, now) if turn._changed and state.dialogue else []
        await turn.queries.save(
            {"cid": conversation.id, "state": state.model_dump_json(), "version": conversation.version + 1,
             "updated_at": now, "organisation_id": conversation.organisation_id},
            answers,
        )  # fmt: skip

    @staticmethod
    def _changed_answers(turn: Turn, dialogue_id: str, now: datetime) -> list[dict[str, Any]]:
        state = turn.state
        return [
            {
                "conversation_id": turn.conversation.id,
                "organisation_id": turn.conversation.organisation_id,
                "dialogue_id": dialogue_id,
                "key": key,
                "value": state.answers.get(key),
                "updated_at": now,
            }
            for key in sorted(turn._changed)
            if key in state.answers or key in state.skipped or _qualifier_cleared(state, key)
        ]

    async def evidence_bank(self, turn: Turn, dialogue_id: str) -> dict[str, Any]:
        """Answers this person or their organisation gave before, to offer back ("still right?")."""
        conversation = turn.conversation
        rows = await turn.queries.all(
            "bank", {"dialogue_id": dialogue_id, "cid": conversation.id, "oid": conversation.organisation_id}
        )
        bank: dict[str, Any] = {}
        for row in rows:
            key, value, updated_at = row["key"], row["value"], row["updated_at"]
            if value is None:
                continue
            given = _as_utc(updated_at).astimezone(self.tz).date() if updated_at else None
            when = text("core.given_in", **date_values(given)) if given else None  # "in March 2027"
            bank[key] = {"value": value, "when": when}
            if "." in key:  # also offer it for the same question under another objective (newest wins)
                bank[ANY_ITEM + key.rsplit(".", 1)[1]] = bank[key]
        return bank


def conversation_key(inbound: Inbound) -> str:
    thread = f":{inbound.thread_id}" if inbound.thread_id else ""
    return f"{inbound.platform}:{inbound.chat_id}{thread}:{inbound.user_id}"


# Platforms give up redelivering within minutes (Slack) or a day (Telegram); a week is plenty.
EVENT_MEMORY = timedelta(days=7)


async def forget_events_before(session: AsyncSession, cutoff: datetime) -> int:
    """Platforms stop retrying after minutes; keys older than a few days are just weight."""
    result = await session.execute(delete(InboundEvent).where(InboundEvent.received_at < cutoff))
    return result.rowcount or 0


def _as_utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_GREETINGS = {"start", "hi", "hello", "hey", "menu", "begin"}  # typed words (input), not svbot's


DEFAULT_MESSAGE_SIZE = 3900


def _in_locale(messages: list[Outbound]) -> list[Outbound]:
    """Messages marked with the turn's locale, if it is not English: a channel that adds words of its
    own when it renders them (Slack's "Tick", "Pick a date") says those in it too."""
    locale = current_locale()
    if locale == ENGLISH:
        return messages
    return [message if message.meta.get("locale") else replace(message, meta={**message.meta, "locale": locale})
            for message in messages]  # fmt: skip


def _read_state(raw: str | None) -> ConvState:
    """The stored state, parsed and checked in one step by pydantic. A row that is not an object
    (JSON null, say) reads as a new conversation, as it always has."""
    if raw is None:
        return ConvState()
    try:
        return ConvState.model_validate_json(raw)
    except ValidationError:
        return ConvState.model_validate(json.loads(raw) or {})  # raises again when it really is damaged


def _qualifier_cleared(state: ConvState, key: str) -> bool:
    """A number's "about" (`key + "~qualifier"`) gone because the number was given again plainly or
    skipped: saved as None, so the evidence bank forgets it. After a restart, when the answer has gone
    too, neither is saved: the bank keeps both."""
    answer = key.removesuffix(QUALIFIER)
    return answer != key and (answer in state.answers or answer in state.skipped)


def _clean(text: str | None) -> str:
    return clean(text or "")


def _default_dialogue(dialogues: dict[str, Dialogue]) -> str:
    for preferred in ("social_value", "onboarding"):
        if preferred in dialogues:
            return preferred
    return next(iter(dialogues))
