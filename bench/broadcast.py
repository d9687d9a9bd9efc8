"""How close to Telegram's limit does a broadcast go, and is every message delivered exactly once?

Two processes:
- a fake Telegram Bot API (aiohttp, a child process) that enforces 30 messages a second: a
  sendMessage that would make more than 30 accepted in any sliding second gets HTTP 429 with
  `retry_after: 1`, as Telegram's flood control does; it counts what each chat received;
- this process: svbot on a temporary SQLite file, built as every svbot process is (`svbot.app.open_app`),
  with N members each on their own Telegram chat. A broadcast to all of them is queued (one outbox row
  each) and sent by `svbot.support.sending.send_outbox` with the app's own senders and rate limiter
  (`App.senders`, `App.limiter`: the real Telegram sender over HTTP, 8 workers, Telegram's own pace
  unless --rate says otherwise), as `svbot broadcasts send` sends it.

  rate:        messages accepted by the fake / wall time from the start of sending to the last mark
  429s:        refusals the fake sent (each pauses all sending for retry_after)
  duplicates:  messages a chat received beyond the first
  losses:      members who received nothing

Run: python3 bench/broadcast.py [--messages 10000] [--rate 29.5] [--workers 8]
     python3 bench/broadcast.py --smoke   (40 messages, in seconds; the rate printed, not checked)
Targets: rate >= 28.5 msg/s (95% of 30), duplicates 0, losses 0. Duplicates or losses make it exit 1.
10,000 messages take about 6 minutes: the limit allows no less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from collections import Counter, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN = "123456:BENCH-token"
LIMIT = 30
WINDOW = 1.0
SMOKE_MESSAGES = 40


# ---- the fake Telegram, in its own process ---------------------------------------------------------------


def serve_fake(port_queue: Any, limit: int) -> None:
    from aiohttp import web

    accepted: deque[float] = deque()
    per_chat: Counter[str] = Counter()
    stats = {"accepted": 0, "rejected_429": 0, "first": None, "last": None}
    message_ids = iter(range(1, 10**9))

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        fields = await _fields(request)
        if method == "getMe":
            user = {"id": 123456, "is_bot": True, "first_name": "svbot", "username": "svbot_bench_bot"}
            return web.json_response({"ok": True, "result": user})
        if method != "sendMessage":
            return web.json_response({"ok": True, "result": True})
        now = time.monotonic()
        while accepted and accepted[0] <= now - WINDOW:
            accepted.popleft()
        if len(accepted) >= limit:
            stats["rejected_429"] += 1
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
            return web.json_response(body, status=429)
        accepted.append(now)
        chat = str(fields.get("chat_id"))
        per_chat[chat] += 1
        stats["accepted"] += 1
        stats["first"] = stats["first"] or now
        stats["last"] = now
        message = {
            "message_id": next(message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat), "type": "private", "first_name": "Member"},
            "text": fields.get("text", ""),
        }
        return web.json_response({"ok": True, "result": message})

    async def report(request: web.Request) -> web.Response:
        return web.json_response({**stats, "chats": len(per_chat), "duplicates": sum(n - 1 for n in per_chat.values())})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", api)
        app.router.add_get("/stats", report)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


async def _fields(request: Any) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(await request.json())
    return dict(await request.post())


# ---- svbot's side ----------------------------------------------------------------------------------------


async def run(messages: int, rate: float | None, workers: int, port: int) -> dict[str, Any]:
    import httpx

    from svbot.app import open_app
    from svbot.config import Settings

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            DATABASE_URL=f"sqlite:///{Path(folder) / 'bench.db'}",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot",
        )
        async with open_app(settings) as app:
            await queue_broadcast(app, messages)
            sent = await send_broadcast(app, rate, workers)
    async with httpx.AsyncClient() as client:
        fake = (await client.get(f"http://127.0.0.1:{port}/stats")).json()
    wall = sent.pop("wall_s")
    return {
        "messages": messages,
        "workers": workers,
        "wall_s": round(wall, 2),
        "rate_msg_s": round(fake["accepted"] / wall, 2),
        "server_rate_msg_s": round((fake["accepted"] - 1) / (fake["last"] - fake["first"]), 2)
        if fake["accepted"] > 1
        else None,
        "429s": fake["rejected_429"],
        "duplicates": fake["duplicates"],
        "losses": messages - fake["chats"],
        **sent,
    }


async def queue_broadcast(app: Any, messages: int) -> None:
    """`messages` members of one organisation, each on a Telegram chat, and a broadcast to them all."""
    from sqlalchemy import insert

    from svbot.models import Identity, Membership, Organisation, Person
    from svbot.support import broadcasts

    now = datetime.now(UTC)
    async with app.bot.sessionmaker() as session, session.begin():
        support = Organisation(name="Bench CVS", kind="support")
        session.add(support)
        await session.flush()
        member = Organisation(name="Bench Members", kind="member", support_org_id=support.id)
        session.add(member)
        await session.flush()
        people = [{"id": i, "display_name": f"m{i}", "created_at": now} for i in range(1, messages + 1)]
        await session.execute(insert(Person), people)
        identities = [
            {"person_id": i, "platform": "telegram", "platform_user_id": str(i), "chat_id": str(10_000 + i),
             "display_name": "", "active": True, "created_at": now}
            for i in range(1, messages + 1)
        ]  # fmt: skip
        await session.execute(insert(Identity), identities)
        links = [
            {"person_id": i, "organisation_id": member.id, "role": "member", "created_at": now}
            for i in range(1, messages + 1)
        ]
        await session.execute(insert(Membership), links)
        draft = await broadcasts.draft(session, support.id, broadcasts.Audience("all"), "Bench: hello members!")
        queued = await broadcasts.queue(session, draft, now, now.date())
    assert queued == messages, queued


async def send_broadcast(app: Any, rate: float | None, workers: int) -> dict[str, Any]:
    """Send the outbox with the app's own senders and rate limiter, as `svbot broadcasts send` does."""
    from sqlalchemy import func, select

    from svbot.app import close_senders, send_limits
    from svbot.delivery.models import OutboxMessage
    from svbot.support.sending import send_outbox

    db = app.bot.sessionmaker
    senders = app.senders(workers=workers)
    assert list(senders) == ["telegram"], f"only Telegram is set up, yet the app sends to {list(senders)}"
    changes = {"telegram": {"per_second": rate}} if rate else {}
    limiter = app.limiter(**changes)
    started = time.perf_counter()

    def show(total: Any) -> None:
        elapsed = time.perf_counter() - started
        print(f"  {total.sent:>6,} sent in {elapsed:6.1f} s ({total.sent / elapsed:5.2f}/s)", file=sys.stderr)

    try:
        result = await send_outbox(db, senders, limiter=limiter, workers=workers, on_batch=show)
    finally:
        await close_senders(senders)
    wall = time.perf_counter() - started
    async with db() as session:
        query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        by_status = dict((await session.execute(query)).all())
    return {
        "wall_s": wall,
        "client_rate_setting": send_limits(**changes)["telegram"].per_second,
        "outbox": by_status,
        "retried": result.retried,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, help="svbot's Telegram pace, messages a second (default: the channel's)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_MESSAGES} messages; the rate not checked")
    args = parser.parse_args()
    if args.smoke:
        args.messages = SMOKE_MESSAGES

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=serve_fake, args=(ports, LIMIT), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        figures = asyncio.run(run(args.messages, args.rate, args.workers, port))
    finally:
        server.terminate()
        server.join(5)
    print(json.dumps(figures))
    exact = figures["duplicates"] == 0 and figures["losses"] == 0
    target = figures["rate_msg_s"] >= 28.5 and exact
    verdict = "" if args.smoke else " Target met." if target else " TARGET MISSED."
    print(
        f"{figures['messages']:,} messages in {figures['wall_s']} s: {figures['rate_msg_s']} msg/s "
        f"(target >= 28.5, limit {LIMIT}); 429s received: {figures['429s']}; "
        f"duplicates: {figures['duplicates']}; losses: {figures['losses']}.{verdict}"
    )
    if not exact:
        raise SystemExit("every member must receive the broadcast exactly once")


if __name__ == "__main__":
    main()
