"""Item 11: no known-vulnerable release of a dependency svbot serves with can be installed with it."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

# The last vulnerable release of each, and the advisory: pyproject.toml's lower bound must be above it.
VULNERABLE = {
    "jinja2": ("3.1.5", "CVE-2025-27516, sandbox escape through the attr filter"),
    "starlette": ("1.3.0", "CVE-2024-47874 multipart DoS, CVE-2025-62727 Range-header DoS, the 1.3 advisories"),
    "aiohttp": ("3.14.2", "GHSA-cq5v-8q36-5273 parser over-read, GHSA-mfx4-hv73-q22v smuggling"),
    "python-multipart": ("0.0.21", "CVE-2024-53981 DoS, CVE-2026-24486 path traversal"),
    "h11": ("0.15.0", "CVE-2025-43859 request smuggling"),
    "cryptography": ("46.0.4", "CVE-2026-26007"),
}


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in project["dependencies"]}


@pytest.mark.attack(
    "11",
    "Install svbot beside a known-vulnerable Jinja2, Starlette, aiohttp, python-multipart, h11 or cryptography",
    "pyproject.toml's lower bounds exclude each vulnerable release; the tests run on the pinned constraints.txt",
)
def test_lower_bounds_exclude_known_vulnerable_releases_and_what_runs_is_above_them() -> None:
    declared = requirements()
    for name, (last_bad, advisory) in VULNERABLE.items():
        assert name in declared, f"{name} is not declared, so its lower bound is not ours to set"
        assert not declared[name].specifier.contains(last_bad, prereleases=True), f"{name} {last_bad}: {advisory}"
        assert declared[name].specifier.contains(version(name), prereleases=True)


def test_majors_and_minors_svbot_has_not_been_tested_on_are_excluded() -> None:
    declared = requirements()
    assert not declared["python-telegram-bot"].specifier.contains("23.0")
    assert not declared["sqlalchemy"].specifier.contains("2.2.0")
    assert "python-dateutil" in declared, "svbot imports dateutil itself: it must not arrive only through another"
