"""How fast does a Telegram conversation turn go, and what does durability cost?

The same 3-step conversation (a command, a typed answer, a button press) for 667 chats (2,001 updates),
driven through python-telegram-bot's Application with an in-memory request transport (no sockets), in
three set-ups measured in the same run:

  (a) svbot: PTB parses and sends; svbot's core reads and commits the conversation to SQLite every turn
  (b) PTB's ConversationHandler with PicklePersistence as shipped (written out every 60 s: a crash loses
      up to a minute of turns)
  (c) the same, with persistence written after every update (durable like (a))
  (d) for scale: (b) plus the least a durable design must add, one bare sqlite3 commit per update of
      that chat's data, in WAL mode with synchronous=NORMAL like (a). No one would ship it; it shows
      what durability alone costs next to PTB's own work.
  (z) for scale: (a) with a core that costs nothing: svbot's replies to each step, recorded from the
      real core, handed back at once. Only svbot's Telegram adapter and PTB's sends are left: the most
      (a) could ever reach with the messages svbot sends.

Each set-up runs `--rounds` times, interleaved, and the median counts: this machine is noisy.

svbot is built as every svbot process builds it (`svbot.app.open_app`: the bot with every feature, on
the settings' database); only the Telegram transport is swapped for the in-memory one.

Run: python3 bench/telegram_turns.py [--chats 667] [--rounds 5]
     python3 bench/telegram_turns.py --smoke   (a tiny size, in seconds; figures printed, not checked)
Targets: a/b >= 1.0 (durable, yet as fast as PTB's non-durable default) and a/c >= 4.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.request import BaseRequest, RequestData

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from svbot.app import open_app  # noqa: E402
from svbot.channels.telegram.setup import build_application  # noqa: E402
from svbot.config import Settings  # noqa: E402
from svbot.messages import Inbound, Outbound  # noqa: E402

TOKEN = "123456:BENCH-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "svbot", "username": "svbot_bench_bot"}
QUESTION = "What is your group called?"
DONE = "Thanks"
SMOKE = (30, 1)  # --smoke: chats, rounds

DIALOGUE = """\
id: bench
title: Three steps
steps:
  - {id: name, ask: "What is your group called?", type: text, max_chars: 80}
  - id: size
    ask: "How big is {{ answers.name }}?"
    type: choice
    options:
      - {value: micro, label: "Under £10,000 a year"}
      - {value: small, label: "£10,000 to £100,000"}
done: "Thanks, {{ answers.name }}!"
"""


class MemoryRequest(BaseRequest):
    """Answers the Bot API in memory, like tests/fakes/telegram_api.py does over HTTP: valid Message
    replies, and it remembers each chat's last keyboard so the driver can press a real button."""

    def __init__(self) -> None:
        self.message_ids = 0
        self.keyboards: dict[int, tuple[int, dict]] = {}  # chat -> (message id, reply_markup)
        self.texts: dict[int, str] = {}  # chat -> last text sent or edited
        self.calls = 0

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_: Any
    ) -> tuple[int, bytes]:
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        result: Any = True
        if name == "getMe":
            result = BOT_USER
        elif name in ("sendMessage", "editMessageText"):
            result = self._message(name, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _message(self, name: str, params: dict[str, Any]) -> dict:
        chat_id = int(params["chat_id"])
        if name == "sendMessage":
            self.message_ids += 1
            message_id = self.message_ids
        else:
            message_id = int(params["message_id"])
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if markup:
            self.keyboards[chat_id] = (message_id, markup)
        self.texts[chat_id] = str(params["text"])
        message = {
            "message_id": message_id,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params["text"],
        }
        if markup:
            message["reply_markup"] = markup
        return message


# --- the three set-ups ---------------------------------------------------------------------------------


def svbot_settings(workdir: Path) -> Settings:
    dialogues = workdir / "dialogues"
    dialogues.mkdir(exist_ok=True)
    (dialogues / "bench.yaml").write_text(DIALOGUE, encoding="utf-8")
    return Settings(
        DATABASE_URL=f"sqlite:///{workdir / 'svbot.db'}",
        SVBOT_DIALOGUES_DIR=str(dialogues),
        TELEGRAM_BOT_TOKEN=TOKEN,
    )


@contextlib.asynccontextmanager
async def svbot_application(workdir: Path, request: MemoryRequest) -> AsyncIterator[Application]:
    async with open_app(svbot_settings(workdir)) as app:
        yield build_application(app.bot, app.settings, request=request, with_updater=False)


def step_of(inbound: Inbound) -> str:
    return "button" if inbound.payload else "command" if (inbound.text or "").startswith("/") else "answer"


class Recorder:
    """The real core, keeping its first reply to each kind of step."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.replies: dict[str, list[Outbound]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.core, name)  # the menu, the database: the real core's

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        replies = await self.core.handle(inbound)
        self.replies.setdefault(step_of(inbound), replies)
        return replies


class Canned:
    """A core that costs nothing: the recorded replies, at once."""

    def __init__(self, replies: dict[str, list[Outbound]], menu: list[Any]) -> None:
        self.sessionmaker = None
        self.replies = replies
        self.menu = menu

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        return self.replies[step_of(inbound)]


@contextlib.asynccontextmanager
async def canned_application(workdir: Path, request: MemoryRequest) -> AsyncIterator[Application]:
    async with open_app(svbot_settings(workdir)) as app:
        recorder = Recorder(app.bot)
        rehearsal_request = MemoryRequest()
        rehearsal = build_application(recorder, app.settings, request=rehearsal_request, with_updater=False)
        await rehearsal.initialize()
        await drive(rehearsal, rehearsal_request, 1, flush_every_update=False)
        await rehearsal.shutdown()
        canned = Canned(recorder.replies, app.bot.menu)
        yield build_application(canned, app.settings, request=request, with_updater=False)


@contextlib.asynccontextmanager
async def ptb_setup(workdir: Path, request: MemoryRequest) -> AsyncIterator[Application]:
    yield ptb_application(workdir, request)


NAME, SIZE = range(2)


async def ptb_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.effective_message.reply_text(QUESTION)
    return NAME


async def ptb_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    name = update.effective_message.text
    context.user_data["name"] = name
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Under £10,000 a year", callback_data="micro")],
            [InlineKeyboardButton("£10,000 to £100,000", callback_data="small")],
        ]
    )
    await update.effective_message.reply_text(f"How big is {name}?", reply_markup=keyboard)
    return SIZE


async def ptb_size(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await query.answer()
    context.user_data["size"] = query.data
    await query.edit_message_text(f"{DONE}, {context.user_data['name']}!")
    return ConversationHandler.END


def ptb_application(workdir: Path, request: MemoryRequest) -> Application:
    persistence = PicklePersistence(filepath=workdir / "ptb.pickle")  # as shipped: update_interval=60
    application = ApplicationBuilder().token(TOKEN).request(request).persistence(persistence).updater(None).build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # per_message=False with a CallbackQueryHandler: intended here
        conversation = ConversationHandler(
            entry_points=[CommandHandler("start", ptb_start)],
            states={
                NAME: [MessageHandler(filters.TEXT & ~filters.COMMAND, ptb_name)],
                SIZE: [CallbackQueryHandler(ptb_size)],
            },
            fallbacks=[],
            name="bench",
            persistent=True,
        )
    application.add_handler(conversation)
    return application


# --- the driver ----------------------------------------------------------------------------------------


def message_update(update_id: int, chat_id: int, text: str) -> dict:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 1_700_000_000,
        "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def button_update(update_id: int, chat_id: int, request: MemoryRequest) -> dict:
    message_id, markup = request.keyboards[chat_id]
    data = markup["inline_keyboard"][0][0]["callback_data"]
    message = {
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": {"id": chat_id, "type": "private"},
        "from": BOT_USER,
        "text": request.texts[chat_id],
        "reply_markup": markup,
    }
    user = {"id": chat_id, "is_bot": False, "first_name": "Sam"}
    query = {"id": f"q{update_id}", "from": user, "chat_instance": str(chat_id), "message": message, "data": data}
    return {"update_id": update_id, "callback_query": query}


def bare_store(path: Path) -> sqlite3.Connection:
    """(d)'s store: one table, one row a chat, a plain commit per update."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE chats (chat_id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
    return connection


async def drive(
    application: Application,
    request: MemoryRequest,
    chats: int,
    flush_every_update: bool,
    store: sqlite3.Connection | None = None,
) -> float:
    """All chats take step 1, then step 2, then step 3 (interleaved, as real traffic is). Returns seconds."""
    bot = application.bot
    chat_ids = [10_000 + i for i in range(chats)]
    update_id = 0
    started = time.perf_counter()
    for step in range(3):
        for chat_id in chat_ids:
            update_id += 1
            if step == 0:
                data = message_update(update_id, chat_id, "/start")
            elif step == 1:
                data = message_update(update_id, chat_id, f"Lunch club {chat_id}")
            else:
                data = button_update(update_id, chat_id, request)
            await application.process_update(Update.de_json(data, bot))
            if flush_every_update:
                await application.update_persistence()
            if store is not None:
                row = (chat_id, json.dumps(application.user_data.get(chat_id, {})))
                store.execute("BEGIN")
                store.execute("INSERT OR REPLACE INTO chats (chat_id, data) VALUES (?, ?)", row)
                store.execute("COMMIT")
    elapsed = time.perf_counter() - started
    finished = sum(1 for chat_id in chat_ids if request.texts.get(chat_id, "").startswith(DONE))
    if finished != chats:
        raise SystemExit(f"only {finished} of {chats} conversations finished: the benchmark is not measuring turns")
    return elapsed


async def run_setup(label: str, chats: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        request = MemoryRequest()
        setup = {"a": svbot_application, "z": canned_application}.get(label, ptb_setup)
        async with setup(workdir, request) as application:
            await application.initialize()
            store = bare_store(workdir / "bare.db") if label == "d" else None
            try:
                seconds = await drive(application, request, chats, flush_every_update=label == "c", store=store)
            finally:
                if store is not None:
                    store.close()
                await application.shutdown()
        return chats * 3 / seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=667)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE[0]} chats, {SMOKE[1]} round")
    args = parser.parse_args()
    if args.smoke:
        args.chats, args.rounds = SMOKE
    names = {
        "a": "svbot, durable SQLite commit every turn",
        "b": "PTB ConversationHandler + PicklePersistence (60 s)",
        "c": "PTB ConversationHandler + PicklePersistence flushed every update",
        "d": "(b) + one bare sqlite3 commit per update (for scale)",
        "z": "(a) with a core that costs nothing (for scale)",
    }
    runs: dict[str, list[float]] = {label: [] for label in names}
    for _ in range(max(1, args.rounds)):
        for label in names:
            runs[label].append(await run_setup(label, args.chats))
    rates = {label: statistics.median(values) for label, values in runs.items()}
    print(f"{args.chats * 3} updates a run, median of {args.rounds} runs (all runs in brackets)")
    for label, name in names.items():
        spread = ", ".join(f"{value:.0f}" for value in runs[label])
        print(f"({label}) {name:<66} {rates[label]:8.0f} updates/s  [{spread}]")
    print(f"a/b = {rates['a'] / rates['b']:.2f}  (target >= 1.0)")
    print(f"a/c = {rates['a'] / rates['c']:.2f}  (target >= 4)")
    print(f"d/b = {rates['d'] / rates['b']:.2f}  (what one bare commit per update costs PTB)")
    print(f"z/b = {rates['z'] / rates['b']:.2f}  (the most a/b could be with the messages svbot sends)")


if __name__ == "__main__":
    asyncio.run(main())
