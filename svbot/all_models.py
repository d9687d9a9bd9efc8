"""Import every module that defines tables, so Alembic and tests see the whole schema."""

from svbot import models  # noqa: F401
