"""Ack first, work after: a queue of turns any channel can put its requests in.

A platform that wants a quick answer to each request (Slack: 3 seconds) gets its acknowledgement at
once, while the turns run here: worker tasks take them one at a time and step aside between turns,
so requests waiting for their ack are never stuck behind a backlog. One person's turns in one chat
run one at a time and in order, and their replies go out in that order too, each in a task of its
own so the next turn need not wait for the platform. A retry of an event this process is already
handling is dropped here; the core's inbound_events table is the lasting record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar

from svbot.channels.base import ChatCore
from svbot.messages import Inbound, Outbound

log = logging.getLogger(__name__)

# Turns acknowledged but not yet run. When it is full, acks wait for room: the platform then sees a
# slow app and retries later, which is better than holding an unbounded backlog in memory.
QUEUE_SIZE = 5_000
REMEMBERED_EVENTS = 20_000


class Job(Protocol):
    """A turn waiting in the queue: what was said, and whatever the channel needs to answer it."""

    @property
    def inbound(self) -> Inbound: ...


J = TypeVar("J", bound=Job)
# Sends a turn's replies; `None` means the turn failed and the person should hear we are sorry.
Deliver = Callable[[J, list[Outbound] | None], Awaitable[None]]


class TurnQueue(Generic[J]):
    def __init__(self, core: ChatCore, deliver: Deliver[J], *, workers: int = 1, size: int = QUEUE_SIZE) -> None:
        self.core = core
        self.deliver = deliver
        self.workers = workers
        self.turns_handled = 0  # turns the core has answered
        self.turns_finished = 0  # turns answered and their replies sent (or given up on)
        self._queue: asyncio.Queue[J] = asyncio.Queue(size)
        self._running: list[asyncio.Task[None]] = []
        self._recent = _RecentIds(REMEMBERED_EVENTS)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[Any]] = set()  # replies and other work after the ack
        self._replying: dict[str, asyncio.Task[Any]] = {}  # per person: the replies going out last

    async def put(self, job: J) -> None:
        """Queue a turn (the caller acks straight after). A repeat of a known event is dropped."""
        key = job.inbound.event_id or ""
        if key and not self._recent.add(key):
            return
        if not self._running:  # started on first use: tasks belong to the running event loop
            self._running = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        await self._queue.put(job)

    def background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run after the ack; kept so `close` can wait for it, and failures are logged."""
        task = asyncio.create_task(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self, timeout: float = 10.0) -> None:
        """Let turns already acknowledged finish (the platform will not send them again), then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                if self._running:
                    await self._queue.join()
                while self._tasks:
                    await asyncio.wait(list(self._tasks))
        for worker in self._running:
            worker.cancel()
        self._running = []

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._take_turn(job)
            except Exception:
                log.exception("turn failed (event %s)", job.inbound.event_id)
            finally:
                self._queue.task_done()
            # A turn on SQLite runs on this thread without pausing, and a queue that is not empty hands
            # over the next job without pausing either: step aside, so requests waiting for their ack
            # run now, not after the whole backlog.
            await asyncio.sleep(0)

    async def _take_turn(self, job: J) -> None:
        person = job.inbound.chat_id + "|" + job.inbound.user_id
        lock = self._locks.get(person)
        if lock is None:
            lock = self._locks[person] = asyncio.Lock()
        async with lock:  # with several workers: one person's turns in one chat, one at a time, in order
            replies: list[Outbound] | None
            try:
                replies = await self.core.handle(job.inbound)
                self.turns_handled += 1
            except Exception:
                self._recent.discard(job.inbound.event_id or "")  # let the platform's retry have another go
                log.exception("turn failed (event %s)", job.inbound.event_id)
                replies = None
            sending = self.background(self._reply(job, replies, self._replying.get(person)))
            self._replying[person] = sending
            sending.add_done_callback(lambda done: self._forget_replying(person, done))

    async def _reply(self, job: J, replies: list[Outbound] | None, previous: asyncio.Task[Any] | None) -> None:
        """Send a turn's replies after the person's previous ones, so they read in order."""
        try:
            if previous is not None:
                await asyncio.wait([previous])
            await self.deliver(job, replies)
        finally:
            self.turns_finished += 1

    def _forget_replying(self, person: str, done: asyncio.Task[Any]) -> None:
        if self._replying.get(person) is done:
            del self._replying[person]


class _RecentIds:
    """The event ids seen lately, bounded."""

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


async def _logged(work: Awaitable[None]) -> None:
    """Background work has nobody to raise to: log what goes wrong, with its stack."""
    try:
        await work
    except Exception:
        log.exception("background work after an ack failed")
