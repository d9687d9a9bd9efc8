"""Reading a file someone named (an import, a foreword, a logo) without trusting what the name points at.

    data = read_regular(Path("grants.csv"), limit=50 * 1024 * 1024)   # bytes, or FileRefused

The file is opened once, without blocking, and what was opened is checked, not the name (which could be
changed in between): a FIFO would wait for a writer for ever, and /dev/zero (or a link to it) would be
read until memory ran out. Only a regular file of at most `limit` bytes is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from svbot.clean import one_line


class FileRefused(Exception):
    """The file cannot or should not be read; the message is one line that names it."""


class TooLarge(FileRefused):
    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


def read_regular(path: Path, limit: int) -> bytes:
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileRefused(f"cannot find {shown_name(path)}") from None
    except OSError as exc:
        raise FileRefused(f"cannot read {shown_name(path)}: {exc.strerror}") from None
    with os.fdopen(handle, "rb") as file:
        found = os.fstat(file.fileno())
        if stat.S_ISDIR(found.st_mode):
            raise FileRefused(f"{shown_name(path)} is a folder, not a file")
        if not stat.S_ISREG(found.st_mode):
            raise FileRefused(f"{shown_name(path)} is not a regular file (a device, pipe or socket)")
        if found.st_size > limit:
            raise TooLarge(f"{shown_name(path)} is {megabytes(found.st_size)}", found.st_size)
        try:
            data = file.read(limit + 1)  # a file that grew since it was checked is refused too
        except OSError as exc:
            raise FileRefused(f"cannot read {shown_name(path)}: {exc.strerror}") from None
    if len(data) > limit:
        raise TooLarge(f"{shown_name(path)} is over {megabytes(limit)}", len(data))
    return data


def shown_name(path: Path) -> str:
    """The file's name as svbot says it: one line, nothing a terminal would act on."""
    return one_line(path.name)[:120] or "the file"


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"
