"""Where the editable data lives: dialogues/ and knowledge/.

A wheel carries them inside the package (svbot/_data/); a source checkout or editable install
has them beside the package. Settings can point elsewhere, so a support organisation can keep
its own copies.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str, override: Path | None = None) -> Path:
    if override is not None:
        return Path(override)
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"svbot cannot find its {name}/ folder (looked in the package and beside it)")


def dialogues_dir(override: Path | None = None) -> Path:
    return data_dir("dialogues", override)


def knowledge_dir(override: Path | None = None) -> Path:
    return data_dir("knowledge", override)
