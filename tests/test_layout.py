"""The layout shows the design (docs/architecture.md): arrows point inward, no import circles, platform
libraries only in their channel, and a new channel is one package plus one line in the root."""

from __future__ import annotations

import ast
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import svbot.app
from svbot.app import open_app
from svbot.config import Settings
from svbot.messages import Outbound
from tests.scenario import TEST_DIALOGUES
from tests.serving import serve_app

pytestmark = pytest.mark.one_database  # see tests/conftest.py

SVBOT = Path(svbot.app.__file__).resolve().parent
PLATFORM_LIBRARIES = ("telegram", "slack_bolt", "slack_sdk")
# The outer layer: it may import anything. Everything else in svbot/ is the core, and the core
# imports no channel and no platform library.
OUTER = ("svbot.app", "svbot.cli", "svbot.web", "svbot.channels", "svbot.__main__")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SVBOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, module: str) -> list[tuple[str, bool]]:
    """What a module imports, as (module name, inside a function?), leaving out `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    in_function = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.extend((name, id(node) in in_function) for name in names)
    return found


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """svbot's import graph (importing a.b.c imports a and a.b too), and each module's outside imports."""
    paths = {module_name(p): p for p in SVBOT.rglob("*.py") if "migrations" not in p.parts}
    edges: dict[str, set[str]] = {name: set() for name in paths}
    outside: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        for target, _ in imports_of(path, name):
            if not target.startswith("svbot"):
                outside[name].add(target.split(".")[0])
                continue
            parts = target.split(".")
            for end in range(2, len(parts) + 1):
                prefix = ".".join(parts[:end])
                if prefix in paths and prefix != name and not name.startswith(prefix + "."):
                    edges[name].add(prefix)
    return edges, outside


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def is_outer(module: str) -> bool:
    return any(module == o or module.startswith(o + ".") for o in OUTER)


def test_no_import_circles_counting_imports_inside_functions() -> None:
    edges, _ = graph()
    assert len(edges) > 40, "the reader found svbot's modules"
    assert circles(edges) == []


def test_the_core_imports_no_channel_and_no_platform() -> None:
    edges, outside = graph()
    into_channels = {m: sorted(t for t in ts if t.startswith("svbot.channels")) for m, ts in edges.items()}
    assert {m: ts for m, ts in into_channels.items() if ts and not is_outer(m)} == {}
    platform = {m: sorted(set(ts) & set(PLATFORM_LIBRARIES)) for m, ts in outside.items()}
    assert {m: ts for m, ts in platform.items() if ts and not m.startswith("svbot.channels.")} == {}
    into_outer = {
        m: sorted(t for t in ts if is_outer(t) and not t.startswith("svbot.channels")) for m, ts in edges.items()
    }
    assert {m: ts for m, ts in into_outer.items() if ts and not is_outer(m)} == {}, "the core imports the root"


def test_a_channel_package_is_light_until_used() -> None:
    """What the root imports of a channel (its package) loads no platform library and no adapter."""
    for package in (SVBOT / "channels").glob("*/__init__.py"):
        name = module_name(package)
        eager = [t for t, in_function in imports_of(package, name) if not in_function]
        assert not [t for t in eager if t.split(".")[0] in PLATFORM_LIBRARIES or t.startswith(name + ".")], name


# -- a new channel: one package and one line in the root ------------------------------------------------


class EchoChannel:
    """What a new platform brings (here a JSON webhook): its package would hold this and its adapter."""

    name = "echo"
    limits = svbot.app.Limits(per_chat_interval=0.5)
    message_size = 1234

    def __init__(self) -> None:
        self.sent: list[tuple[str, Outbound]] = []

    def enabled(self, settings: Settings) -> bool:
        return True

    def web_mount(self, bot, settings):  # type: ignore[no-untyped-def]
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from svbot.channels.base import WebMount
        from svbot.messages import Inbound

        async def receive(request: Request) -> JSONResponse:
            body = await request.json()
            inbound = Inbound(platform=self.name, user_id=body["user"], chat_id=body["user"], text=body["text"])
            return JSONResponse([m.text for m in await bot.handle(inbound)])

        return WebMount(routes=[Route("/echo", receive, methods=["POST"])])

    def sender(self, settings, *, workers=1):  # type: ignore[no-untyped-def]
        channel = self

        class Recorder:
            async def send(self, chat_id: str, message: Outbound) -> str:
                channel.sent.append((chat_id, message))
                return str(len(channel.sent))

        return Recorder()

    def worker(self, bot, settings):  # type: ignore[no-untyped-def]
        return None


@pytest.fixture
async def echo_app(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[svbot.app.App]:
    monkeypatch.setattr(svbot.app, "CHANNELS", (*svbot.app.CHANNELS, EchoChannel()))  # the one line
    async with open_app(Settings(DATABASE_URL=db_url, SVBOT_DIALOGUES_DIR=TEST_DIALOGUES), migrate=False) as app:
        yield app


async def test_a_new_channel_is_its_package_and_one_line_in_the_root(echo_app: svbot.app.App) -> None:
    echo = echo_app.channel("echo")
    assert isinstance(echo, EchoChannel)
    assert echo_app.bot.message_size("echo") == 1234
    assert svbot.app.send_limits()["echo"].per_chat_interval == 0.5
    async with serve_app(echo_app.web_app()) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        health = (await http.get("/healthz")).json()
        assert health["channels"] == ["echo"]
        said = await http.post("/echo", content=json.dumps({"user": "u1", "text": "hello"}))
        assert "What is your group called?" in said.json()[-1]
    sender = echo_app.senders()["echo"]
    await sender.send("u1", Outbound(text="Your report is due on Friday."))
    assert echo.sent[0][0] == "u1"
