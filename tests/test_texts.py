"""svbot's words live in svbot/texts/<locale>.yaml (issue 13, item 5), so a translation is data only.

- An English sentence written in Python where svbot says something (a `say`, an `Outbound`'s text, a
  `Button` label, an intent's `menu=`, a dialogue `intro=`, a file's title, a value given to
  `text()`), directly, through a variable or through a module constant, fails
  `test_no_english_in_python_outside_the_text_files`, unless its file is on the allow-list below.
- Every key the code asks for is in en.yaml with the values its template needs, and every key in
  en.yaml is asked for.
- A locale falls back to English key by key; user text is only ever a value, never a template.
"""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

import svbot.text
from svbot.text import TextError, date_values, keys, placeholders, plural_form, text

SVBOT = Path(svbot.text.__file__).resolve().parent

# Files whose words are not in the text files yet. Each is a step of its own; take a file off the
# list when its strings have moved.
NOT_MOVED_YET = {
    "svbot/turns.py": "the core's replies; being restructured by the engine work",
    "svbot/dialogue/*": "the engine's replies (back, skip, review, retries); being restructured",
    "svbot/statements/*": "the statement's wording, in Markdown, HTML, Word and text",
    "svbot/support/report.py": "the annual social value report",
    "svbot/cli/*": "the `svbot` command's messages to operators, English only",
    # Not among the files of item 5's first part: "Tick", "Untick", "Choose", and, out of the scan's
    # sight in Block Kit dicts, "You chose:" and "Pick a date".
    "svbot/channels/slack/render.py": "Slack's own button words; next step",
}

# Where svbot says something, and which argument says it.
MESSAGE_CALLS = {"say": 0, "Outbound": 0}  # the callable's name -> the position of the text
LABEL_CALLS = {"Button": 0, "FileOut": 3}  # a button's label; a file's title
MESSAGE_KEYWORDS = {"text", "intro"}  # Outbound(text=), Slack's chat_postMessage(text=), start_dialogue(intro=)
LABEL_KEYWORDS = {"label", "menu", "title"}  # Button(label=), @bot.intent(menu=), FileOut(title=)
WORD = re.compile(r"[A-Za-z]{2,}")  # "%a" and "%H:%M" in a format spec are not words


# -- the scan ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    words: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.words!r}"


def english_in_python(source: str, path: str = "<source>") -> list[Found]:
    """English literals that reach a place where svbot speaks. A message needs two or more words
    ("Sorry, no."), a button label, menu entry, file title or a value for `text()` one ("Send")."""
    tree = ast.parse(source)
    scopes = _Scopes(tree)
    found: list[Found] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        sinks: list[tuple[ast.expr, int]] = []
        for table, least in ((MESSAGE_CALLS, 2), (LABEL_CALLS, 1)):
            if name in table and len(node.args) > table[name]:
                sinks.append((node.args[table[name]], least))
        for keyword in node.keywords:
            if name == "text" and keyword.arg is not None:
                sinks.append((keyword.value, 1))  # a value for a template: must not be English either
            elif keyword.arg in MESSAGE_KEYWORDS:
                sinks.append((keyword.value, 2))
            elif keyword.arg in LABEL_KEYWORDS:
                sinks.append((keyword.value, 1))
        for expr, least in sinks:
            for line, words in scopes.literals(expr, node):
                if len(WORD.findall(words)) >= least:
                    found.append(Found(path, line, words))
    return found


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


class _Scopes:
    """What a name was bound to: in the function around the call, else at module level."""

    def __init__(self, tree: ast.Module) -> None:
        self.module = _assignments(tree.body)
        self.function_of: dict[int, ast.AST] = {}
        self.assigned: dict[int, dict[str, list[ast.expr]]] = {}
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                self.assigned[id(function)] = _assignments(list(ast.walk(function)))
                for inner in ast.walk(function):
                    self.function_of[id(inner)] = function  # the innermost wins: walk goes outside in

    def literals(self, expr: ast.expr, at: ast.AST, depth: int = 0) -> Iterator[tuple[int, str]]:
        """(line, text) of each string literal that can end up as `expr`'s value. Calls are not
        followed: `text("key")` is the point, and "\\n".join(lines) joins what was checked already."""
        if depth > 5:
            return
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            yield expr.lineno, expr.value
        elif isinstance(expr, ast.JoinedStr):
            constant = " ".join(v.value for v in expr.values if isinstance(v, ast.Constant))
            yield expr.lineno, constant
            for value in expr.values:
                if isinstance(value, ast.FormattedValue):  # f"{grant or 'your grant'}"; not its format spec
                    yield from self.literals(value.value, at, depth + 1)
        elif isinstance(expr, ast.BinOp):
            yield from self.literals(expr.left, at, depth + 1)
            yield from self.literals(expr.right, at, depth + 1)
        elif isinstance(expr, ast.IfExp):
            yield from self.literals(expr.body, at, depth + 1)
            yield from self.literals(expr.orelse, at, depth + 1)
        elif isinstance(expr, ast.BoolOp):
            for value in expr.values:
                yield from self.literals(value, at, depth + 1)
        elif isinstance(expr, ast.Tuple | ast.List):
            for element in expr.elts:
                yield from self.literals(element, at, depth + 1)
        elif isinstance(expr, ast.Name):
            function = self.function_of.get(id(at))
            local = self.assigned.get(id(function), {}) if function is not None else {}
            for value in local.get(expr.id) or self.module.get(expr.id, []):
                yield from self.literals(value, value, depth + 1)


def _assignments(nodes: list[ast.AST]) -> dict[str, list[ast.expr]]:
    bound: dict[str, list[ast.expr]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                bound.setdefault(target.id, []).append(value)
    return bound


def svbot_sources() -> Iterator[tuple[str, Path]]:
    for path in sorted(SVBOT.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path.relative_to(SVBOT.parent).as_posix(), path


def allowed(relative: str) -> bool:
    return any(
        relative == entry or (entry.endswith("/*") and relative.startswith(entry[:-1])) for entry in NOT_MOVED_YET
    )


def test_no_english_in_python_outside_the_text_files() -> None:
    found = [
        str(hit)
        for relative, path in svbot_sources()
        if not allowed(relative)
        for hit in english_in_python(path.read_text(encoding="utf-8"), relative)
    ]
    assert found == [], "put these in svbot/texts/en.yaml and say them with svbot.text.text(key):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'turn.say("Sorry, that did not work.")',
        'turn.say(f"Welcome back, {name}!")',
        'turn.say("Your reports:\\n" + listing)',
        'turn.say(text("a.key") if ok else "Nothing to see here")',
        'Outbound(text="All done now", kind="info")',
        'Outbound("All done now")',
        'Button("Send", "bc:send:1")',
        'Button(label="Cancel", payload="x")',
        '@bot.intent("due", "due", menu="Reports coming up")\nasync def due(turn): ...',
        'turn.start_dialogue("x", intro=f"A message to {who}.")',
        'client.chat_postMessage(channel=c, text="Something broke here")',
        'text("deadlines.reminder.what", report=title, grant=grant or "your grant")',
        'FileOut(name, content, "application/pdf", "Social value statement")',
        'SORRY = "Sorry, try again."\ndef f(turn):\n    turn.say(SORRY)',
        'def f(turn):\n    said = f"{n} reports are overdue"\n    turn.say(said, buttons=())',
        'def f(turn):\n    said = ""\n    said += "and one more thing"\n    turn.say(said)',
    ],
)
def test_the_scan_finds_english_where_svbot_speaks(source: str) -> None:
    assert english_in_python(source), source


@pytest.mark.parametrize(
    "source",
    [
        'turn.say(text("support.join.how"))',
        'turn.say(NOT_FOUND)\nNOT_FOUND = text("support.not_found")',
        "turn.say(chunk, markdown=True)",
        'turn.say("\\n".join(lines))',
        'Button(o.name[:60], f"sv:use:{o.id}")',
        'Outbound(text=f"{a}\\n\\n{b}")',
        'text("support.broadcast.sent_on", audience=what, time=f"{sent:%H:%M}")',
        'log.warning("the slack reply was not delivered: %s", exc)',
        'raise ValueError("the token is missing")',
        'Inbound(platform="slack", user_id="u", chat_id="c", text=words)',
    ],
)
def test_the_scan_leaves_keys_names_and_logs_alone(source: str) -> None:
    assert english_in_python(source) == [], source


# -- the keys --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    path: str
    line: int
    key: str  # a whole key, or the start of one for text(f"dates.weekday.{name}")
    prefix: bool
    given: frozenset[str] | None  # the values passed by name; None when some come from **mapping


def text_calls() -> list[Use]:
    """Every `text(...)` call in svbot/ whose key is written out (or starts written out)."""
    uses = []
    for relative, path in svbot_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {"text"} if relative == "svbot/text.py" else _names_of_text(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names):
                continue
            if not node.args:
                continue
            given = frozenset(k.arg for k in node.keywords if k.arg is not None)
            if any(k.arg is None for k in node.keywords):
                given = None
            first = node.args[0]
            choices = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            for choice in choices:
                if isinstance(choice, ast.Constant) and isinstance(choice.value, str):
                    uses.append(Use(relative, node.lineno, choice.value, False, given))
                elif isinstance(choice, ast.JoinedStr) and isinstance(choice.values[0], ast.Constant):
                    uses.append(Use(relative, node.lineno, str(choice.values[0].value), True, given))
                elif relative != "svbot/text.py":
                    pytest.fail(f"{relative}:{node.lineno}: text() with a key this test cannot read")
    return uses


def _names_of_text(tree: ast.Module) -> set[str]:
    """What a module calls svbot.text.text (not SQLAlchemy's `text`)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "svbot.text"
        for alias in node.names
        if alias.name == "text"
    }


def test_every_key_the_code_asks_for_is_in_english() -> None:
    english = keys()
    uses = text_calls()
    assert len(uses) > 100
    missing = [
        f"{u.path}:{u.line}: {u.key}"
        for u in uses
        if not (any(k.startswith(u.key) for k in english) if u.prefix else u.key in english)
    ]
    assert missing == []


def test_every_call_gives_the_values_its_text_needs() -> None:
    english = keys()
    wrong = []
    for use in text_calls():
        if use.prefix or use.key not in english:
            continue
        needed = placeholders("en", use.key)
        if use.given is None:
            continue  # values from **mapping: text() itself raises TextError if one is missing
        if needed - use.given or use.given - needed - {"count"}:
            wrong.append(f"{use.path}:{use.line}: {use.key} needs {sorted(needed)}, given {sorted(use.given)}")
    assert wrong == []


def test_every_english_key_is_used() -> None:
    uses = text_calls()
    exact = {u.key for u in uses if not u.prefix}
    prefixes = tuple(u.key for u in uses if u.prefix)
    unused = sorted(k for k in keys() if k not in exact and not k.startswith(prefixes))
    assert unused == [], "keys in svbot/texts/en.yaml that no code asks for"


def test_every_translation_has_only_english_keys_and_the_same_values() -> None:
    english = keys()
    for path in sorted((SVBOT / "texts").glob("*.yaml")):
        locale = path.stem
        if locale == "en":
            continue
        assert keys(locale) <= english, f"{path.name}: keys English does not have"
        for key in keys(locale):
            assert placeholders(locale, key) == placeholders("en", key), f"{path.name}: {key}"


# -- text() ----------------------------------------------------------------------------------------


def test_the_words_are_the_same_as_before() -> None:
    assert text("support.join.how") == "Send join followed by the code you were given, like this: join K7QF-9XWA2"
    assert text("common.people", count=1) == "1 person"
    assert text("common.people", count=1500) == "1,500 people"
    assert text("support.members.count", count=2) == "2 members"
    assert text("dates.day", **date_values(date(2027, 1, 29))) == "Fri 29 Jan 2027"
    assert text("dates.long", **date_values(date(2027, 3, 5))) == "5 March 2027"


def test_user_text_is_a_value_never_a_template() -> None:
    said = text("support.broadcast.message", support="{message}", message="{0} {__class__} {{x}} %s")
    assert said == "Message from {message}:\n\n{0} {__class__} {{x}} %s"


def test_a_key_missing_from_english_or_a_missing_value_is_a_clear_error() -> None:
    with pytest.raises(TextError, match="no text 'support.nope'"):
        text("support.nope")
    with pytest.raises(TextError, match="needs a value for 'organisation'"):
        text("support.organisations.switched")
    with pytest.raises(TextError, match="needs a count"):
        text("common.people")


@pytest.fixture
def texts_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the text files to add a locale to; svbot reads it instead of its own."""
    shutil.copy(SVBOT / "texts" / "en.yaml", tmp_path / "en.yaml")
    monkeypatch.setattr(svbot.text, "TEXTS_DIR", tmp_path)
    svbot.text.reload()
    yield tmp_path
    monkeypatch.undo()
    svbot.text.reload()


def test_a_locale_falls_back_to_english_key_by_key(texts_dir: Path) -> None:
    (texts_dir / "cy.yaml").write_text(
        "support:\n  join:\n    menu: Ymuno â'ch sefydliad gyda chod\n"
        "common:\n  people:\n    zero: 'neb'\n    one: '{count} person'\n    two: '{count} berson'\n"
        "    few: '{count} pherson'\n    many: '{count} pherson'\n    other: '{count} person'\n",
        encoding="utf-8",
    )
    assert text("support.join.menu", "cy") == "Ymuno â'ch sefydliad gyda chod"
    assert text("support.join.menu", "cy-GB") == "Ymuno â'ch sefydliad gyda chod"
    assert text("support.invite.menu", "cy") == "Invite someone to your organisation"  # not translated yet
    assert [text("common.people", "cy", count=n) for n in (0, 1, 2, 3, 6, 7)] == [
        "neb", "1 person", "2 berson", "3 pherson", "6 pherson", "7 person",
    ]  # fmt: skip
    for nobody in (None, "fr", "../en", "en/../../etc/passwd", ""):
        assert text("support.join.menu", nobody) == "Join your organisation with a code"
    assert plural_form("cy", 2) == "two" and plural_form("en", 2) == "other"


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("a:\n  b: 'Hello {user.name}'\n", "plain name"),
        ("a:\n  b: 'Hello {}'\n", "plain name"),
        ("a:\n  b: 'Hello {locale}'\n", "plain name"),
        ("a:\n  b: 'Hello {'\n", "literal brace"),
        ("a:\n  b: [one, two]\n", "expected a text"),
        ("a:\n  b:\n    one: 'x'\n", "'other' form"),
        ("a:\n  B: 'x'\n", "lower-case"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_a_malformed_text_file_is_refused_with_its_file_and_key(texts_dir: Path, yaml_text: str, problem: str) -> None:
    (texts_dir / "cy.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(TextError, match=re.escape(problem)) as refused:
        text("support.join.menu", "cy")
    assert "cy.yaml" in str(refused.value)


def test_english_is_read_and_checked_once() -> None:
    svbot.text.reload()
    assert len(keys()) > 150
    assert svbot.text._table.cache_info().currsize == 1
    text("support.join.menu")
    text("support.invite.menu")
    assert svbot.text._table.cache_info().misses == 1
