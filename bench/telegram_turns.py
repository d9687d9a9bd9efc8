"""How fast does a Telegram conversation turn go, and what does durability cost?

The same 3-step conversation (a command, a typed answer, a button press) for `--chats` new chats
(3 updates each), driven through python-telegram-bot's Application with no sockets, in set-ups measured
in the same run, after `--stored` earlier chats have finished the same conversation (so the stores
hold that many chats: PTB's pickle is written whole, so its cost grows with them):

  (a) svbot: PTB parses and sends; svbot's core reads and commits the conversation to SQLite every turn
  (b) PTB's ConversationHandler with PicklePersistence as shipped: written out every 60 s (a crash loses
      up to a minute of turns). No run lasts 60 s, so no write falls inside one.
  (c) the same, written once after every update (durable like (a)): `on_flush=True`, then
      `Application.update_persistence()` and `PicklePersistence.flush()` after each update. (Without
      `on_flush`, each `update_*` call PTB makes writes the whole file: two or three writes an update.)
      The bench counts the writes and stops if there is not exactly one per update.
  (d) for scale: (b) plus the least a durable design must add, one bare sqlite3 commit per update of
      that chat's data, in WAL mode with synchronous=NORMAL like (a).
  (z) for scale: (a) with a core that costs nothing: svbot's replies to each step, recorded from the
      real core, handed back at once. Only svbot's Telegram adapter and PTB's sends are left.

Lower-case set-ups answer the Bot API through an in-memory transport that encodes and decodes JSON as
an HTTP one would (end to end). Upper-case (A), (B), (C) are the same with a Bot API that returns at
once (no JSON): raw dispatch, where the transport no longer hides the difference.

Every round runs every set-up at every size once, in an order shuffled afresh each round (seeded; the
seed is printed and `--seed` repeats it), and the median of the rounds counts: this machine is noisy.
Each figure is given as wall-clock updates/s and as CPU time (this process's) per update.

svbot is built as every svbot process builds it (`svbot.app.open_app`: the bot with every feature, on
the settings' database); only the Telegram transport is swapped.

Run: python3 bench/telegram_turns.py [--stored 50,500,2000] [--chats 200] [--rounds 5] [--seed N]
     python3 bench/telegram_turns.py --smoke   (tiny sizes, in seconds; figures printed, not checked)
Target (printed as met or not, not asserted): svbot at least 4x PTB flushed once per update (a/c and
A/C >= 4) at 50, 500 and 2,000 stored chats. A chat that does not finish its conversation, or one that
receives a different number of messages from the others (lost or doubled), stops the bench (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
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
TARGET = 4.0  # svbot through PTB / PTB flushed once per update
STORED_FIRST_ID = 1_000_000  # the stored chats' ids; the timed chats' start at 10,000
WARM_UP = 5  # chats driven before the timed ones in every run
TIMED_FIRST_UPDATE = 100_000_000  # after every stored chat's updates
SMOKE = {"stored": [5, 20], "chats": 10, "rounds": 1}

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

SETUPS = {
    "a": "svbot, durable SQLite commit every turn",
    "b": "PTB ConversationHandler + PicklePersistence (60 s)",
    "c": "PTB ConversationHandler + PicklePersistence, once per update",
    "d": "(b) + one bare sqlite3 commit per update (for scale)",
    "z": "(a) with a core that costs nothing (for scale)",
    "A": "(a), Bot API returns at once",
    "B": "(b), Bot API returns at once",
    "C": "(c), Bot API returns at once",
}


class MemoryRequest(BaseRequest):
    """Answers the Bot API in memory, like tests/fakes/telegram_api.py does over HTTP: valid Message
    replies as JSON bytes, and it remembers each chat's last keyboard so the driver can press a real
    button."""

    def __init__(self) -> None:
        self.message_ids = 0
        self.keyboards: dict[int, tuple[int, dict]] = {}  # chat -> (message id, reply_markup)
        self.texts: dict[int, str] = {}  # chat -> last text sent or edited
        self.sent: Counter[int] = Counter()  # chat -> messages sent or edited
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
        result = self._result(url, request_data)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _result(self, url: str, request_data: RequestData | None) -> Any:
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        if name == "getMe":
            return BOT_USER
        if name in ("sendMessage", "editMessageText"):
            return self._message(name, params)
        return True

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
        self.sent[chat_id] += 1
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


class InstantRequest(MemoryRequest):
    """The same answers handed straight back: no JSON either way, none of PTB's HTTP wrapper. What is left
    is dispatch: PTB parsing the update, the handlers, and building the Bot API call and its reply."""

    async def post(self, url: str, request_data: RequestData | None = None, *_: Any, **__: Any) -> Any:
        return self._result(url, request_data)


# --- the set-ups ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """One set-up, ready to drive: its application, its transport and what it does after each update."""

    application: Application
    request: MemoryRequest
    after_update: Callable[[int], Awaitable[None]] | None = None
    check: Callable[[int], None] | None = None  # called with the number of updates driven


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
async def svbot_setup(workdir: Path, request: MemoryRequest) -> AsyncIterator[Run]:
    async with open_app(svbot_settings(workdir)) as app:
        yield Run(unpaced(build_application(app.bot, app.settings, request=request, with_updater=False)), request)


def unpaced(application: Application) -> Application:
    """svbot paces its sends to Telegram's limit, 30 messages a second a bot (PTB's AIORateLimiter), so
    through it no bot does more than about 30 updates a second: that is Telegram's figure, not svbot's.
    The bench lifts the overall pace and keeps the limiter, so each send still pays for going through it."""
    limiter = application.bot.rate_limiter
    if limiter is None or getattr(limiter, "_base_limiter", None) is None:
        raise SystemExit("svbot's Telegram rate limiter has changed: the bench no longer knows how to lift it")
    limiter._base_limiter = None  # type: ignore[attr-defined]
    return application


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
async def canned_setup(workdir: Path, request: MemoryRequest) -> AsyncIterator[Run]:
    async with open_app(svbot_settings(workdir)) as app:
        recorder = Recorder(app.bot)
        rehearsal_request = MemoryRequest()
        rehearsal = build_application(recorder, app.settings, request=rehearsal_request, with_updater=False)
        await rehearsal.initialize()
        await drive(Run(rehearsal, rehearsal_request), [1], first_update=2 * TIMED_FIRST_UPDATE)
        await rehearsal.shutdown()
        canned = Canned(recorder.replies, app.bot.menu)
        yield Run(unpaced(build_application(canned, app.settings, request=request, with_updater=False)), request)


@contextlib.asynccontextmanager
async def ptb_setup(workdir: Path, request: MemoryRequest, flush: bool, bare: bool = False) -> AsyncIterator[Run]:
    # As shipped: update_interval=60, and each update_* call writes the file. Flushed: one write, on flush().
    persistence = CountedPickle(filepath=workdir / "ptb.pickle", on_flush=flush)
    application = ptb_application(persistence, request)
    run = Run(application, request)
    if flush:

        async def write_once(_: int) -> None:
            await application.update_persistence()
            await persistence.flush()

        def once_per_update(updates: int) -> None:
            if persistence.writes != updates:
                raise SystemExit(f"(c) wrote the pickle {persistence.writes} times in {updates} updates, not once each")

        run.after_update, run.check = write_once, once_per_update
    if bare:
        store = bare_store(workdir / "bare.db")

        async def commit(chat_id: int) -> None:
            row = (chat_id, json.dumps(application.user_data.get(chat_id, {})))
            store.execute("BEGIN")
            store.execute("INSERT OR REPLACE INTO chats (chat_id, data) VALUES (?, ?)", row)
            store.execute("COMMIT")

        run.after_update = commit
    try:
        yield run
    finally:
        if bare:
            store.close()


class CountedPickle(PicklePersistence):
    """PTB's PicklePersistence, counting the times it writes the file (always whole, in `_dump_singlefile`)."""

    writes = 0

    def _dump_singlefile(self) -> None:
        self.writes += 1
        super()._dump_singlefile()


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


def ptb_application(persistence: PicklePersistence, request: MemoryRequest) -> Application:
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


def bare_store(path: Path) -> sqlite3.Connection:
    """(d)'s store: one table, one row a chat, a plain commit per update."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE chats (chat_id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
    return connection


def open_setup(label: str, workdir: Path) -> contextlib.AbstractAsyncContextManager[Run]:
    request = InstantRequest() if label.isupper() else MemoryRequest()
    kind = label.lower()
    if kind == "a":
        return svbot_setup(workdir, request)
    if kind == "z":
        return canned_setup(workdir, request)
    return ptb_setup(workdir, request, flush=kind == "c", bare=kind == "d")


# --- the stored chats ----------------------------------------------------------------------------------


async def store_chats(folder: Path, stored: int) -> None:
    """Both stores, each with `stored` chats that finished the conversation, made once per size and copied
    into every run (svbot's SQLite file and PTB's pickle, written by svbot and by PTB themselves)."""
    folder.mkdir(parents=True)
    chat_ids = [STORED_FIRST_ID + i for i in range(stored)]
    async with svbot_setup(folder, MemoryRequest()) as run:
        await run.application.initialize()
        await drive(run, chat_ids)
        await run.application.shutdown()
    async with ptb_setup(folder, MemoryRequest(), flush=True) as run:
        run.after_update = run.check = None  # one write at the end is enough here
        await run.application.initialize()
        await drive(run, chat_ids)
        await run.application.update_persistence()
        await run.application.persistence.flush()  # type: ignore[union-attr]
        await run.application.shutdown()


def copy_stores(template: Path, workdir: Path) -> None:
    for path in template.iterdir():
        if path.is_file() and (path.name.startswith("svbot.db") or path.name == "ptb.pickle"):
            shutil.copy(path, workdir / path.name)


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


async def drive(run: Run, chat_ids: list[int], first_update: int = 0) -> tuple[float, float]:
    """All chats take step 1, then step 2, then step 3 (interleaved, as real traffic is).
    Returns (wall seconds, CPU seconds); stops the bench if a chat did not finish or got other messages.
    Update ids must not repeat the stored chats' ones: svbot takes a repeated id for a redelivery."""
    application, request = run.application, run.request
    bot = application.bot
    update_id = first_update
    started, cpu_started = time.perf_counter(), time.process_time()
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
            if run.after_update is not None:
                await run.after_update(chat_id)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finished = sum(1 for chat_id in chat_ids if request.texts.get(chat_id, "").startswith(DONE))
    if finished != len(chat_ids):
        raise SystemExit(f"only {finished} of {len(chat_ids)} conversations finished: not measuring turns")
    counts = Counter(request.sent[chat_id] for chat_id in chat_ids)
    if len(counts) > 1:
        raise SystemExit(f"chats received different numbers of messages (lost or doubled): {dict(counts)}")
    if run.check is not None:
        run.check(update_id - first_update)
    return elapsed, cpu


async def run_setup(label: str, template: Path, chats: int) -> tuple[float, float]:
    """One run of one set-up: (updates/s wall, µs CPU an update)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        copy_stores(template, workdir)
        async with open_setup(label, workdir) as run:
            await run.application.initialize()
            try:
                # A few chats first, not timed, so that what is timed is the steady state, not first use
                # (templates compiled, connections opened): the same for every set-up.
                await drive(run, [9_000 + i for i in range(WARM_UP)], first_update=TIMED_FIRST_UPDATE // 2)
                if isinstance(run.application.persistence, CountedPickle):
                    run.application.persistence.writes = 0
                wall, cpu = await drive(run, [10_000 + i for i in range(chats)], first_update=TIMED_FIRST_UPDATE)
            finally:
                await run.application.shutdown()
    updates = chats * 3
    return updates / wall, cpu / updates * 1e6


# --- the report ----------------------------------------------------------------------------------------


def ratio_line(name: str, top: str, bottom: str, rates: dict, cpus: dict, target: float | None = None) -> str:
    wall = rates[top] / rates[bottom]
    cpu = cpus[bottom] / cpus[top]  # CPU an update: the cheaper, the faster
    line = f"  {name} = {wall:5.2f} wall, {cpu:5.2f} CPU"
    if target is not None:
        line += f"   target >= {target:g}: {'met' if wall >= target else 'not met'}"
    return line


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", default="50,500,2000", help="stored chats, comma-separated sizes")
    parser.add_argument("--chats", type=int, default=200, help="new chats timed in each run (3 updates each)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None, help="the shuffle's seed (default: a new one)")
    parser.add_argument("--only", default="".join(SETUPS), help="set-ups to run, e.g. aAcC")
    parser.add_argument("--smoke", action="store_true", help=f"stored {SMOKE['stored']}, {SMOKE['chats']} chats")
    args = parser.parse_args()
    sizes = [int(size) for size in args.stored.split(",")]
    if args.smoke:
        sizes, args.chats, args.rounds = SMOKE["stored"], SMOKE["chats"], SMOKE["rounds"]
    labels = [label for label in SETUPS if label in args.only]
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    shuffle = random.Random(seed)
    print(f"seed {seed} (--seed {seed} repeats the order); {args.chats} new chats ({args.chats * 3} updates) "
          f"a run; {args.rounds} rounds, each set-up and size once a round in shuffled order")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        templates = {size: Path(tmp) / str(size) for size in sizes}
        for size, folder in templates.items():
            await store_chats(folder, size)
        runs: dict[tuple[int, str], list[tuple[float, float]]] = {(s, label): [] for s in sizes for label in labels}
        for _ in range(max(1, args.rounds)):
            order = list(runs)
            shuffle.shuffle(order)
            for size, label in order:
                runs[size, label].append(await run_setup(label, templates[size], args.chats))

    print("medians of the rounds: updates/s (wall clock), then µs of this process's CPU an update; "
          "every round in brackets")  # fmt: skip
    summary = []
    for size in sizes:
        rates = {label: statistics.median(r for r, _ in runs[size, label]) for label in labels}
        cpus = {label: statistics.median(c for _, c in runs[size, label]) for label in labels}
        print(f"\n{size:,} stored chats")
        for label in labels:
            walls = ", ".join(f"{r:.0f}" for r, _ in runs[size, label])
            cpu_spread = ", ".join(f"{c:.0f}" for _, c in runs[size, label])
            print(f"  ({label}) {SETUPS[label]:<62} {rates[label]:7.0f}/s [{walls}]"
                  f"  {cpus[label]:6.0f} µs CPU [{cpu_spread}]")  # fmt: skip
        pairs = [("a/c", "a", "c", TARGET), ("A/C", "A", "C", TARGET), ("a/b", "a", "b", None),
                 ("A/B", "A", "B", None), ("d/b", "d", "b", None), ("z/b", "z", "b", None)]  # fmt: skip
        for name, top, bottom, target in pairs:
            if top in rates and bottom in rates:
                print(ratio_line(name, top, bottom, rates, cpus, target))
                if target is not None:
                    summary.append((size, name, rates[top] / rates[bottom], cpus[bottom] / cpus[top]))
    print("\nsvbot's pacing of sends to Telegram's 30 messages a second is lifted (each send still goes through "
          "its rate limiter): with it, any bot tops out near 30 updates/s")  # fmt: skip
    print("a/c: end to end (in-memory Bot API, JSON both ways); A/C: raw dispatch (Bot API returns at once)")
    print(f"target: svbot through PTB >= {TARGET:g}x PTB flushed once per update, at every size")
    for size, name, wall, cpu in summary:
        verdict = "met" if wall >= TARGET else "not met"
        print(f"  {size:>6,} stored chats  {name} = {wall:5.2f} wall, {cpu:5.2f} CPU   {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
