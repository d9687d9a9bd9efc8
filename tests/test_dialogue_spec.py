"""Dialogue files: the shipped ones load, and a broken one names the file, the step and the problem."""

from pathlib import Path

import pytest

from svbot.dialogue.spec import DialogueError, load_dialogues
from svbot.paths import dialogues_dir


def test_shipped_dialogues_load() -> None:
    dialogues = load_dialogues(dialogues_dir())
    assert dialogues, "no dialogues shipped"
    for dialogue in dialogues.values():
        assert dialogue.title and dialogue.steps


def write(tmp_path: Path, text: str, name: str = "broken.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "id: d\ntitle: T\nsteps:\n  - {id: a, ask: Q, type: text}\n  - {id: b, ask: Q, type: colour}\n",
            "broken.yaml: step 'b', field 'type'",
        ),
        (
            "id: d\ntitle: T\nsteps:\n  - id: grp\n    steps:\n"
            "      - {id: n, ask: Q, type: integer, min: 5, max: 1}\n",
            "broken.yaml: step 'grp.n': min is greater than max",
        ),
        ("id: d\ntitle: T\nsteps:\n  - {id: c, ask: Pick, type: choice}\n", "step 'c': a choice step needs options"),
        ("id: d\ntitle: T\nsteps:\n  - {id: q, type: text}\n", "step 'q': a question needs ask"),
        ("id: d\ntitle: T\nsteps:\n  - {id: q, ask: 'Hi {{ name', type: text}\n",
         "step 'q', field 'ask': template error"),
        ("id: d\ntitle: T\nsteps:\n  - {id: q, ask: Q, type: text}\n  - {id: q, ask: Q, type: text}\n",
         "used twice"),
        ("id: d\ntitle: T\nsteps:\n  - {id: g, for_each: nope, steps: [{id: x, ask: Q, type: text}]}\n",
         "step 'g': for_each 'nope' must name an earlier multi_choice step"),
        ("id: d\ntitle: T\nsteps:\n  - {id: s, dialogue: missing}\n", "no dialogue called 'missing'"),
        ("id: d\ntitle: T\nsteps: [\n", "not valid YAML"),
        ("id: d\ntitle: T\nsteps:\n  - {id: Bad-Id, ask: Q, type: text}\n", "field 'id'"),
    ],
)  # fmt: skip
def test_broken_dialogue_names_file_step_and_problem(tmp_path: Path, yaml_text: str, expected: str) -> None:
    with pytest.raises(DialogueError) as caught:
        load_dialogues(write(tmp_path, yaml_text))
    assert expected in str(caught.value)
    assert "broken.yaml" in str(caught.value)


def test_a_dialogue_that_includes_itself_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "id: a\ntitle: A\nsteps:\n  - {id: inner, dialogue: b}\n", "a.yaml")
    write(tmp_path, "id: b\ntitle: B\nsteps:\n  - {id: back, dialogue: a}\n", "b.yaml")
    with pytest.raises(DialogueError, match="includes itself"):
        load_dialogues(tmp_path)


def test_the_chat_command_stops_with_the_reason_for_a_broken_file(tmp_path: Path, db_url: str) -> None:
    import os
    import subprocess
    import sys

    write(tmp_path, "id: d\ntitle: T\nsteps:\n  - {id: c, ask: Pick, type: choice}\n")
    env = {**os.environ, "SVBOT_DIALOGUES_DIR": str(tmp_path), "DATABASE_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-m", "svbot.cli", "chat"], input="hi\n", capture_output=True, text=True, env=env,
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "broken.yaml: step 'c': a choice step needs options" in done.stderr
    assert "Traceback" not in done.stderr
