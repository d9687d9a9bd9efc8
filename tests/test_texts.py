"""svbot's words live in svbot/texts/<locale>.yaml (issue 13, item 5), so a translation is data only.

- An English sentence written in Python where svbot says something (a `say`, an `Outbound`'s text, a
  `Button` label, an intent's `menu=`, a dialogue `intro=`, a file's title, a value given to
  `text()`, an answer refused with `Invalid` or checked with `Parsed`), directly, through a variable,
  a module constant or an attribute, or through a function of svbot's own that passes it on or
  returns it, fails `test_no_english_in_python_outside_the_text_files`, unless its file is on the
  allow-list below.
- Every key the code asks for (a `text()` call in Python, a `t()` call in a Jinja template) is in en.yaml
  with the values its template needs, and every key in en.yaml is asked for.
- A locale falls back to English key by key; user text is only ever a value, never a template.
"""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

import svbot.text
from svbot.text import TextError, date_values, keys, placeholders, plural_form, text

pytestmark = pytest.mark.one_database  # see tests/conftest.py

SVBOT = Path(svbot.text.__file__).resolve().parent

# Files whose words are not in the text files yet. Each is a step of its own; take a file off the
# list when its strings have moved.
NOT_MOVED_YET = {
    "svbot/cli/*": "the `svbot` command's messages to operators, English only",
}

# Where svbot says something, and which argument says it. A message needs two or more words ("Sorry,
# no."); a button label, menu entry, file title, example or value for `text()` one ("Send").
MESSAGE_CALLS = {  # the callable's name -> the position of the text
    "say": 0,  # turn.say(...), run.say(...)
    "Outbound": 0,
    "Invalid": 0,  # an answer refused, and why: said above the question again
    "Parsed": 1,  # an answer read, with its "just to check" question
}
LABEL_CALLS = {"Button": 0, "FileOut": 3, "Invalid": 1}  # a button's label; a file's title; a refusal's example
# Outbound(text=), Slack's chat_postMessage(text=), start_dialogue(intro=), Parsed(confirm=); and
# Button(label=), @bot.intent(menu=), FileOut(title=), Invalid(example=)
MESSAGE_KEYWORDS = {"text", "intro", "confirm"}
LABEL_KEYWORDS = {"label", "menu", "title", "example"}
NOT_FOLLOWED = {"text"}  # svbot.text.text(key): the key is the point, and its values are checked where given
WORD = re.compile(r"[A-Za-z]{2,}")  # "%a" and "%H:%M" in a format spec are not words


# -- the scan ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    words: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.words!r}"


@dataclass
class Speech:
    """The ways svbot's code says something: the calls above, and what is learned from its own functions
    (by name, as a call names them). A function that passes one of its parameters on to be said speaks
    through that parameter (`_button(run, label, action)` makes a Button, `prompts.question(run, slot,
    prefix)` puts the prefix above the question), and a function whose result is said says what it
    returns (`turn.say(self.home_help())`, `run.say(prompts.status(run))`)."""

    parameters: dict[str, dict[str, tuple[int | None, int]]] = field(default_factory=dict)  # name -> (position, least)
    returns: dict[str, int] = field(default_factory=dict)  # a function's name -> the least words said
    learned: bool = False  # something new since the last look

    def sinks(self, call: ast.Call) -> Iterator[tuple[ast.expr, int]]:
        """The arguments of a call that are said, each with the least words that make it English."""
        name = _called(call)
        for table, least in ((MESSAGE_CALLS, 2), (LABEL_CALLS, 1)):
            if name in table and len(call.args) > table[name]:
                yield call.args[table[name]], least
        for keyword in call.keywords:
            if name == "text" and keyword.arg is not None:
                yield keyword.value, 1  # a value for a template: must not be English either
            elif keyword.arg in MESSAGE_KEYWORDS:
                yield keyword.value, 2
            elif keyword.arg in LABEL_KEYWORDS:
                yield keyword.value, 1
        for parameter, (position, least) in self.parameters.get(name or "", {}).items():
            by_name = [k.value for k in call.keywords if k.arg == parameter]
            starred = any(isinstance(a, ast.Starred) for a in call.args[: (position or 0) + 1])
            if by_name:
                yield by_name[0], least
            elif position is not None and len(call.args) > position and not starred:
                yield call.args[position], least

    def hear_parameter(self, function: ast.FunctionDef | ast.AsyncFunctionDef, parameter: str, least: int) -> None:
        known = self.parameters.setdefault(function.name, {})
        position = _positions(function).get(parameter)
        if parameter not in known or known[parameter][1] > least:
            known[parameter] = (position, least)
            self.learned = True

    def hear_return(self, name: str, least: int) -> None:
        if name not in NOT_FOLLOWED and self.returns.get(name, least + 1) > least:
            self.returns[name] = least
            self.learned = True


def learn(trees: list[ast.Module]) -> Speech:
    """What svbot's functions say, learned from the calls above until there is nothing new."""
    speech = Speech()
    scopes = [_Scopes(tree) for tree in trees]
    speech.learned = True
    while speech.learned:
        speech.learned = False
        for tree, scope in zip(trees, scopes, strict=True):
            for expr, at, least in _said(tree, scope, speech):
                for _ in scope.literals(expr, at, least, speech):
                    pass
    return speech


def english_in_python(source: str, path: str = "<source>", speech: Speech | None = None) -> list[Found]:
    """English literals that reach a place where svbot speaks (`speech`: learned from all of svbot, or
    else from this source alone)."""
    tree = ast.parse(source)
    speech = speech or learn([tree])
    scopes = _Scopes(tree)
    found: dict[tuple[int, str], Found] = {}
    for expr, at, least in _said(tree, scopes, speech):
        for line, words in scopes.literals(expr, at, least, speech):
            if len(WORD.findall(words)) >= least:
                found.setdefault((line, words), Found(path, line, words))
    return list(found.values())


def _said(tree: ast.Module, scopes: _Scopes, speech: Speech) -> Iterator[tuple[ast.expr, ast.AST, int]]:
    """Every expression that is said: (it, where it is, the least words that make it English)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for expr, least in speech.sinks(node):
                yield expr, node, least
        elif isinstance(node, ast.Return) and node.value is not None:
            function = scopes.function_of.get(id(node))
            least = speech.returns.get(getattr(function, "name", ""))
            if least is not None:
                yield node.value, node, least


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _positions(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> dict[str, int | None]:
    """A function's parameters, with their place in a call (None: by name only). A method's `self` or
    `cls` is not in the call: `turn.say(text)` passes `text` first."""
    arguments = function.args
    positional = [a.arg for a in arguments.posonlyargs + arguments.args]
    if positional[:1] in (["self"], ["cls"]):
        positional = positional[1:]
    places: dict[str, int | None] = {name: i for i, name in enumerate(positional)}
    places.update({a.arg: None for a in arguments.kwonlyargs})
    return places


class _Scopes:
    """What a name was bound to: in the function around the call, else at module level. An attribute
    (`state.confirm_text`) is what any `x.confirm_text = ...` in the file bound it to."""

    def __init__(self, tree: ast.Module) -> None:
        self.module = _assignments(tree.body)
        self.attributes = _assignments(list(ast.walk(tree)), attributes=True)
        self.function_of: dict[int, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] = {}
        self.assigned: dict[int, dict[str, list[ast.expr]]] = {}
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                self.assigned[id(function)] = _assignments(list(ast.walk(function)))
                for inner in ast.walk(function):
                    self.function_of[id(inner)] = function  # the innermost wins: walk goes outside in

    def literals(
        self, expr: ast.expr, at: ast.AST, least: int, speech: Speech, depth: int = 0
    ) -> Iterator[tuple[int, str]]:
        """(line, text) of each string literal that can end up as `expr`'s value. What it learns on the
        way goes to `speech`: a parameter of the function around it is said, or a call's result is."""
        if depth > 6:
            return

        def inner(value: ast.expr, where: ast.AST = at) -> Iterator[tuple[int, str]]:
            return self.literals(value, where, least, speech, depth + 1)

        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            yield expr.lineno, expr.value
        elif isinstance(expr, ast.JoinedStr):
            constant = " ".join(v.value for v in expr.values if isinstance(v, ast.Constant))
            yield expr.lineno, constant
            for value in expr.values:
                if isinstance(value, ast.FormattedValue):  # f"{grant or 'your grant'}"; not its format spec
                    yield from inner(value.value)
        elif isinstance(expr, ast.BinOp):
            yield from inner(expr.left)
            yield from inner(expr.right)
        elif isinstance(expr, ast.IfExp):
            yield from inner(expr.body)
            yield from inner(expr.orelse)
        elif isinstance(expr, ast.BoolOp):
            for value in expr.values:
                yield from inner(value)
        elif isinstance(expr, ast.Tuple | ast.List | ast.Set):
            for element in expr.elts:
                yield from inner(element)
        elif isinstance(expr, ast.Starred):
            yield from inner(expr.value)
        elif isinstance(expr, ast.ListComp | ast.GeneratorExp | ast.SetComp):
            yield from inner(expr.elt)
        elif isinstance(expr, ast.Call):
            name = _called(expr)
            if name == "join" and isinstance(expr.func, ast.Attribute) and expr.args:  # " and ".join(parts)
                yield from inner(expr.func.value)
                yield from inner(expr.args[0])
            elif name is not None:
                speech.hear_return(name, least)  # what the function returns is said: its returns are scanned
        elif isinstance(expr, ast.Attribute):
            for value in self.attributes.get(expr.attr, []):
                yield from inner(value, value)
        elif isinstance(expr, ast.Name):
            function = self.function_of.get(id(at))
            local = self.assigned.get(id(function), {}) if function is not None else {}
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and expr.id in _positions(function):
                speech.hear_parameter(function, expr.id, least)  # what callers pass here is said
            for value in local.get(expr.id) or self.module.get(expr.id, []):
                yield from inner(value, value)


def _assignments(nodes: list[ast.AST], attributes: bool = False) -> dict[str, list[ast.expr]]:
    """Names (or, with `attributes`, attribute names) and what is bound to them: `x = ...`, `x += ...`,
    and `x.append(...)` (a list of lines built up)."""
    bound: dict[str, list[ast.expr]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("append", "extend", "insert")
            and node.args
        ):
            targets, value = [node.func.value], node.args[-1]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and not attributes:
                bound.setdefault(target.id, []).append(value)
            elif isinstance(target, ast.Attribute) and attributes:
                bound.setdefault(target.attr, []).append(value)
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
    sources = {relative: path.read_text(encoding="utf-8") for relative, path in svbot_sources()}
    speech = learn([ast.parse(source) for source in sources.values()])  # from every file, listed or not
    found = [
        str(hit)
        for relative, source in sources.items()
        if not allowed(relative)
        for hit in english_in_python(source, relative, speech)
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
        # The engine's ways: a refusal and its example, a "just to check", and helpers that say what
        # they are given or return what is said.
        'raise Invalid("Please type your answer.")',
        'raise Invalid(text("answers.date.empty"), "a date like this")',
        'return Parsed(42, f"Just to check: shall I put {n}?")',
        "def _button(run, label, action):\n    return Button(label, encode(run, action))\n"
        'def f(run):\n    return _button(run, "Keep this answer", Action.KEEP)',
        'def _join(prefix, said):\n    return f"{prefix}\\n\\n{said}"\n'
        'def question(run, slot, prefix=""):\n    return Outbound(text=_join(prefix, asked(run, slot)))\n'
        'def f(run, slot):\n    run.send(question(run, slot, "No problem at all."))',
        'def repeat(run, prefix=""):\n    run.send(review(run, prefix))\n'
        "def review(run, prefix):\n    run.say(prefix)\n"
        'def f(run):\n    repeat(run, prefix="Sorry, I did not follow.")',
        'def status(run):\n    return f"You are on question {n}"\ndef f(run):\n    run.say(status(run) + text("x"))',
        'def help_text(slot):\n    parts = []\n    if slot.optional:\n        parts.append("Say skip to move on.")\n'
        '    return "\\n".join(parts)\ndef f(run, slot):\n    run.say(help_text(slot))',
        'def display(value):\n    return "Yes" if value else text("x.no")\ndef f(run, slot):\n'
        '    run.send(Button(display(True), "1:yes"))',
        'def f(run, state):\n    state.confirm_text = f"Last time you told me {x}."\n'
        "    run.send(Outbound(text=state.confirm_text))",
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
        "def _button(run, label, action):\n    return Button(label, encode(run, action))\n"
        'def f(run):\n    return _button(run, text("dialogue.button.keep"), Action.KEEP)',
        'def status(run):\n    log.info("the status was asked for")\n    return text("dialogue.status.review")\n'
        "def f(run):\n    run.say(status(run))",
        'def f(typed):\n    if typed in ("all of them", "everything"):\n'
        '        raise Invalid(text("answers.x"), "1, 3")',
        'raise DialogueError(f"{path}: step {step}: a question needs ask: the text to show")',
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
    return uses + template_calls()


def template_calls() -> list[Use]:
    """Every `t(...)` call in svbot's Jinja templates (svbot.statements.render gives them `t`)."""
    uses = []
    for path in sorted(SVBOT.rglob("*.j2")):
        relative = path.relative_to(SVBOT.parent).as_posix()
        for call in Environment().parse(path.read_text(encoding="utf-8")).find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == "t"):
                continue
            first = call.args[0] if call.args else None
            if not (isinstance(first, nodes.Const) and isinstance(first.value, str)):
                pytest.fail(f"{relative}:{call.lineno}: t() with a key this test cannot read")
            given = None if call.dyn_kwargs is not None else frozenset(k.key for k in call.kwargs)
            uses.append(Use(relative, call.lineno, first.value, False, given))
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
