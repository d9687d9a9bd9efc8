"""How close to Telegram's limit does a broadcast go, and is every message delivered exactly once?

Two processes:
- a fake Telegram Bot API (aiohttp, a child process) that enforces 30 messages a second: a
  sendMessage that would make more than 30 accepted in any sliding second gets HTTP 429 with
  `retry_after: 1`, as Telegram's flood control does; it counts what each chat received;
- this process: svbot on a temporary SQLite file, with N members each on their own Telegram chat.
  A broadcast to all of them is queued (one outbox row each) and sent by `svbot.support.sending`
  (the real TelegramSender over HTTP, 8 workers, Telegram paced at 29.5 a second).

  rate:        messages accepted by the fake / wall time from the start of sending to the last mark
  429s:        refusals the fake sent (each pauses all sending for retry_after)
  duplicates:  messages a chat received beyond the first
  losses:      members who received nothing

Run: python3 bench/broadcast.py [--messages 10000] [--rate 29.5] [--workers 8]
Targets: rate >= 28.5 msg/s (95% of 30), duplicates 0, losses 0.
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


async def run(messages: int, rate: float, workers: int, port: int) -> dict[str, Any]:
    import httpx
    from sqlalchemy import func, insert, select

    from svbot.config import Settings
    from svbot.db import make_engine, make_sessionmaker, upgrade_async
    from svbot.delivery.models import OutboxMessage
    from svbot.delivery.ratelimit import RateLimiter
    from svbot.models import Identity, Membership, Organisation, Person
    from svbot.support import broadcasts
    from svbot.support.sending import broadcast_limits, broadcast_senders, close_senders, send_outbox

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await upgrade_async(url)
        engine = make_engine(url)
        db = make_sessionmaker(engine)
        now = datetime.now(UTC)
        async with db() as session, session.begin():
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

        settings = Settings(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot")
        senders = broadcast_senders(settings, workers)
        limiter = RateLimiter(broadcast_limits(telegram_rate=rate))
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
            by_status = dict(
                (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
            )
        await engine.dispose()
    async with httpx.AsyncClient() as client:
        fake = (await client.get(f"http://127.0.0.1:{port}/stats")).json()
    return {
        "messages": messages,
        "client_rate_setting": rate,
        "workers": workers,
        "wall_s": round(wall, 2),
        "rate_msg_s": round(fake["accepted"] / wall, 2),
        "server_rate_msg_s": round((fake["accepted"] - 1) / (fake["last"] - fake["first"]), 2)
        if fake["accepted"] > 1
        else None,
        "429s": fake["rejected_429"],
        "duplicates": fake["duplicates"],
        "losses": messages - fake["chats"],
        "outbox": by_status,
        "retried": result.retried,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=29.5, help="svbot's Telegram pace (messages a second)")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

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
    target = figures["rate_msg_s"] >= 28.5 and figures["duplicates"] == 0 and figures["losses"] == 0
    print(
        f"{figures['messages']:,} messages in {figures['wall_s']} s: {figures['rate_msg_s']} msg/s "
        f"(target >= 28.5, limit {LIMIT}); 429s received: {figures['429s']}; "
        f"duplicates: {figures['duplicates']}; losses: {figures['losses']}. "
        f"{'Target met.' if target else 'TARGET MISSED.'}"
    )


if __name__ == "__main__":
    main()
