"""`pip install .` (not only editable installs) must ship the dialogues and knowledge folders, and the Word template."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.one_database  # see tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_dialogues_and_knowledge_and_finds_them(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("svbot-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in [*ROOT.glob("dialogues/*.yaml"), *ROOT.glob("knowledge/*.yaml")]:
        assert f"svbot/_data/{source.parent.name}/{source.name}" in names
    assert "svbot/migrations/env.py" in names and any(n.startswith("svbot/migrations/versions/0001") for n in names)
    assert "svbot/texts/en.yaml" in names, "everything svbot says in chat"
    assert "svbot/templates/svbot.docx" in names, "the shared Word template"
    demo = {"svbot/demo/sample.yaml", "svbot/demo/grants.json", "svbot/demo/SOURCE.md"}
    assert demo <= names, "svbot demo's sample data (tests/data is not in the wheel)"

    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    probe = (
        "import svbot.paths as p, svbot.dialogue.spec as s, svbot.knowledge as k;"
        "d = p.dialogues_dir(); print(d); print(sorted(s.load_dialogues(d)));"
        "print(sorted(k.load_knowledge(p.knowledge_dir()).frameworks));"
        "import svbot.text as t; print(t.text('support.not_found'));"
        "import svbot.documents as d; print(d.TEMPLATE); print(d.to_bytes(d.new_document('T', 'A'))[:2])"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert lines[0] == str(target / "svbot" / "_data" / "dialogues"), "found inside the installed package"
    assert "social_value" in lines[1] and "building_social_capital" in lines[2]
    assert lines[3].startswith("Sorry"), "the installed package reads its own text file"
    assert lines[4] == str(target / "svbot" / "templates" / "svbot.docx") and lines[5] == "b'PK'", "and its template"


def test_constraints_pin_every_dependency_within_the_bounds_and_the_readme_test_line_uses_them() -> None:
    """CI runs the README's test line; it installs the versions in constraints.txt, and each must be one
    pyproject.toml allows (a lower bound raised past a pin, or a dependency added without a pin, fails)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [line for lines in project["optional-dependencies"].values() for line in lines]
    wanted = [Requirement(line) for line in project["dependencies"] + extras if not line.startswith("svbot[")]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    for requirement in wanted:
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pinned, prereleases=True), f"{requirement.name}=={pinned}: {requirement}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_commands = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert first_commands[1].endswith("pip install -e '.[test]' -c constraints.txt && pytest")
