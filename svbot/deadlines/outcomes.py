"""What a grant agreed: its outcomes (each with an optional target number and unit) and its budget.

Outcomes come from the grant agreement (`svbot grants add --outcome`, the "Agreed outcomes" column of
a grants file: status "agreed"), or, when none were set, from the grantee's answer to "What did you
agree to deliver?" (`propose_outcomes`: status "proposed", with who said it), which the support
organisation can see (`svbot grants outcomes GRANT_ID`) and correct by entering the agreed ones.

Written as "text:target:unit", several separated by ";": "Train advisers:4:advisers; Open a drop-in".
Functions that take a session do not commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from svbot.deadlines.models import AGREED, PROPOSED, Grant, GrantOutcome
from svbot.models import utcnow

MAX_TEXT = 1000
MAX_UNIT = 100


class OutcomeProblem(ValueError):
    """An outcome or budget that cannot be read; the message says why, in a line."""


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    """One outcome as given: "Train advisers", 4, "advisers"."""

    text: str
    target: Decimal | None = None
    unit: str = ""

    def describe(self) -> str:
        """"Train advisers: 4 advisers", "Open a drop-in"."""
        if self.target is None:
            return self.text + (f" ({self.unit})" if self.unit else "")
        return f"{self.text}: {format_number(self.target)}{' ' + self.unit if self.unit else ''}"


def format_number(value: Decimal) -> str:
    """12000 -> "12,000"; 12.50 -> "12.5"."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def parse_amount(typed: Any) -> Decimal:
    """A sum of money or a count as written in a spreadsheet: 12000, "12,000", "£12,000.50"."""
    if isinstance(typed, bool):
        raise OutcomeProblem(f"{typed!r} is not a number")
    if isinstance(typed, int | float | Decimal):
        value = Decimal(str(typed))
    else:
        cleaned = str(typed).replace("£", "").replace(",", "").strip()
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise OutcomeProblem(f"{str(typed).strip()!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise OutcomeProblem(f"{typed} is not a number of 0 or more")
    return value.quantize(Decimal("0.01"))


def parse_outcome(typed: str) -> OutcomeSpec:
    """"Train advisers:4:advisers", "Train advisers:4", "Open a drop-in" (a target and unit are optional;
    the text may itself have colons: only a number after one starts the target)."""
    parts = [p.strip() for p in typed.split(":")]
    target: Decimal | None = None
    unit = ""
    taken = 0  # how many ":"-separated parts at the end were the target and unit
    if len(parts) >= 3 and (_is_number(parts[-2]) or (parts[-2] == "" and parts[-1])):
        target = parse_amount(parts[-2]) if parts[-2] else None
        unit, taken = parts[-1], 2
    elif len(parts) >= 2 and _is_number(parts[-1]):
        target, taken = parse_amount(parts[-1]), 1
    elif len(parts) >= 2 and parts[-1] == "":
        taken = 1  # "Open a drop-in:" with nothing after
    kept = typed.rsplit(":", taken)[0] if taken else typed
    text = re.sub(r"\s+", " ", kept).strip()
    if not text:
        raise OutcomeProblem(
            f"{typed.strip()!r} has no outcome before the target; write it like Train advisers:4:advisers"
        )
    if len(text) > MAX_TEXT:
        raise OutcomeProblem(f"an outcome is at most {MAX_TEXT} characters")
    if len(unit) > MAX_UNIT:
        raise OutcomeProblem(f"a unit is at most {MAX_UNIT} characters")
    return OutcomeSpec(text, target, unit)


def parse_outcomes(typed: str) -> list[OutcomeSpec]:
    """Several outcomes separated by ";" or new lines."""
    return [parse_outcome(part) for part in re.split(r"[;\n]", typed) if part.strip()]


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"£?\s*\d[\d,]*(\.\d+)?", text.strip()))


def agreement_columns(
    outcomes: Any, budget: Any, warnings: list[str]
) -> tuple[tuple[OutcomeSpec, ...], Decimal | None]:
    """A grants file's "Agreed outcomes" and "Budget" cells (either may be None). A cell that cannot be
    read is left out with a note in `warnings`: the grant is still imported."""
    found: tuple[OutcomeSpec, ...] = ()
    money: Decimal | None = None
    if outcomes is not None:
        try:
            found = tuple(parse_outcomes(str(outcomes)))
        except OutcomeProblem as exc:
            warnings.append(f"Agreed outcomes: {exc}; ignored")
    if budget is not None:
        try:
            money = parse_amount(budget)
        except OutcomeProblem as exc:
            warnings.append(f"Budget: {exc}; ignored")
    return found, money


# ---------------------------------------------------------------- stored


async def set_agreed_outcomes(
    session: AsyncSession, grant_id: int, outcomes: Sequence[OutcomeSpec], now: datetime | None = None
) -> list[GrantOutcome]:
    """The grant agreement's outcomes, in place of the agreed ones stored before (proposed ones stay,
    for the support organisation to compare)."""
    return await _replace(session, grant_id, outcomes, AGREED, None, now or utcnow())


async def store_agreed_outcomes(
    session: AsyncSession, by_grant: dict[int, Sequence[OutcomeSpec]], now: datetime | None = None
) -> None:
    """For an import: each grant's agreed outcomes from the file (grants without any are left alone)."""
    for grant_id, outcomes in by_grant.items():
        if outcomes:
            await _replace(session, grant_id, outcomes, AGREED, None, now or utcnow())


async def propose_outcomes(
    session: AsyncSession,
    grant_id: int,
    outcomes: Iterable[OutcomeSpec | str],
    by_person_id: int | None,
    now: datetime | None = None,
) -> list[GrantOutcome]:
    """What the grantee says the grant agreed, stored as "proposed" (by `by_person_id`), in place of the
    outcomes proposed before for this grant. Agreed outcomes are not touched. Strings are read as
    "text:target:unit". Raises OutcomeProblem for an unknown grant or an outcome that cannot be read."""
    specs = [parse_outcome(o) if isinstance(o, str) else o for o in outcomes]
    return await _replace(session, grant_id, specs, PROPOSED, by_person_id, now or utcnow())


async def agreed_outcomes(session: AsyncSession, grant_id: int) -> list[GrantOutcome]:
    """The grant's outcomes: the agreed ones first, then any proposed by the grantee (see `status` and
    `proposed_by_person_id`), each in the order given."""
    rows = await session.scalars(
        select(GrantOutcome)
        .where(GrantOutcome.grant_id == grant_id)
        .order_by(GrantOutcome.status != AGREED, GrantOutcome.position, GrantOutcome.id)
    )
    return list(rows)


async def find_grant(session: AsyncSession, reference: str) -> Grant | None:
    """A grant by its reference (the 360Giving identifier, or the one `grants add` printed), else by id."""
    grant = await session.scalar(select(Grant).where(Grant.external_id == reference.strip()))
    if grant is None and reference.strip().isdigit():
        grant = await session.get(Grant, int(reference.strip()))
    return grant


async def _replace(
    session: AsyncSession,
    grant_id: int,
    outcomes: Sequence[OutcomeSpec],
    status: str,
    by_person_id: int | None,
    now: datetime,
) -> list[GrantOutcome]:
    if await session.get(Grant, grant_id) is None:
        raise OutcomeProblem(f"there is no grant with id {grant_id}")
    await session.execute(
        delete(GrantOutcome).where(GrantOutcome.grant_id == grant_id, GrantOutcome.status == status)
    )
    rows = [
        GrantOutcome(
            grant_id=grant_id,
            position=i,
            text=spec.text,
            target=spec.target,
            unit=spec.unit,
            status=status,
            proposed_by_person_id=by_person_id if status == PROPOSED else None,
            created_at=now,
            updated_at=now,
        )
        for i, spec in enumerate(outcomes)
    ]
    session.add_all(rows)
    await session.flush()
    return rows


__all__ = [
    "OutcomeProblem",
    "OutcomeSpec",
    "agreed_outcomes",
    "agreement_columns",
    "find_grant",
    "format_number",
    "parse_amount",
    "parse_outcome",
    "parse_outcomes",
    "propose_outcomes",
    "set_agreed_outcomes",
    "store_agreed_outcomes",
]
