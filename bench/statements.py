"""Render time of a 12-objective draft evidence statement in each format.

Run: python3 bench/statements.py [--runs N]
     python3 bench/statements.py --smoke   (3 runs each, in seconds; figures printed, not checked)
The knowledge (frameworks, wording) is the bot's own, as `svbot.app` loads it for every process.
Prints the median (and fastest) of N renders per format against its target:
under 50 ms each for md, html and txt; under 300 ms for docx. Also times compose() with and
without a word limit, since the limit re-renders the plain text while trimming.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from svbot.app import open_app  # noqa: E402
from svbot.config import Settings  # noqa: E402
from svbot.knowledge import Knowledge  # noqa: E402
from svbot.statements import (  # noqa: E402
    Commitment,
    Numbers,
    ObjectiveEvidence,
    OwnValue,
    StatementInput,
    compose,
    render,
)

SMOKE_RUNS = 3
TARGETS_MS = {"md": 50.0, "html": 50.0, "txt": 50.0, "docx": 300.0}
PARAGRAPH = (
    "We run a weekly session in the community hall with a hot meal, games and a chance to talk. "
    "Volunteers collect people who cannot get there on their own. Members choose the menu and plan "
    "the summer outings together. Some members now meet up between sessions as well."
)


def twelve_objectives(knowledge: Knowledge) -> StatementInput:
    """Twelve objectives with every field answered, a mix of evidence kinds, and some markup."""
    framework = knowledge.framework("uk_social_value_model")
    ids = framework.objective_ids()
    kinds = [["attendance_records", "survey"], ["quote"], ["case_study", "quote"], ["external_evaluation"],
             ["none_yet"], []]
    objectives = []
    for n in range(12):
        objectives.append(ObjectiveEvidence(
            objective_id=ids[n % len(ids)] if n < len(ids) else f"extra_{n}",
            activity=PARAGRAPH + " *Markup* <b>stays</b> literal.",
            beneficiaries=["older_people", "people_who_are_isolated", "our own words"],
            equality_groups=["age", "disability", "low_income"],
            numbers=Numbers(people_reached=1234 + n, sessions=48, volunteers=12, volunteer_hours=1250.5,
                            local_spend=2345.67, partners=3,
                            own_value=OwnValue(amount=1800, description="course fees", source="accounts")),
            change=PARAGRAPH,
            evidence_kinds=kinds[n % len(kinds)],
            evidence_detail="28 of 35 members answered our loneliness question in March.",
            story="\"Tuesday is the only day I talk to anyone.\" (Member, 84)",
            commitment=Commitment(text="Start a telephone buddy scheme.", measure="20 members paired",
                                  due=date(2026, 12, 31) if n % 2 else None),
        ))
    return StatementInput(org_name="Bench Community Trust", org_what=PARAGRAPH, org_where="Hastings",
                          framework_id="bench_twelve", period="2025-26", objectives=objectives)


async def bot_knowledge() -> Knowledge:
    """The knowledge the bot is built with (the composition root loads it), on a throw-away database."""
    with tempfile.TemporaryDirectory() as folder:
        async with open_app(Settings(DATABASE_URL=f"sqlite:///{folder}/bench.db")) as app:
            return app.bot.knowledge


def bench_knowledge(knowledge: Knowledge) -> Knowledge:
    """The bot's knowledge plus a 12-objective framework (the largest ships with 8)."""
    svm = knowledge.framework("uk_social_value_model")
    extra = [svm.objectives[0].model_copy(update={"id": f"extra_{n}", "title": f"Extra objective {n}"})
             for n in range(len(svm.objectives), 12)]
    twelve = svm.model_copy(update={"id": "bench_twelve", "objectives": [*svm.objectives, *extra]})
    frameworks = {**knowledge.frameworks, "bench_twelve": twelve}
    return knowledge.model_copy(update={"frameworks": frameworks})


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    action()  # warm caches (templates, python-docx import) once, as a running bot would have
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_RUNS} runs each; targets not checked")
    args = parser.parse_args()
    if args.smoke:
        args.runs = SMOKE_RUNS
    knowledge = bench_knowledge(asyncio.run(bot_knowledge()))
    data = twelve_objectives(knowledge)
    statement = compose(data, knowledge)
    assert len(statement.sections) == 12

    print(f"12-objective statement: {statement.word_count} words, {len(statement.figures)} figures, "
          f"{len(statement.gaps)} gaps; median of {args.runs} runs")
    print(f"{'step':<22}{'median ms':>10}{'fastest':>10}{'target':>9}{'ratio':>8}")
    failed = False
    for fmt, target in TARGETS_MS.items():
        median, fastest = timed(lambda fmt=fmt: render(statement, fmt), args.runs)  # type: ignore[misc]
        ok = median < target
        failed |= not ok
        print(f"{'render ' + fmt:<22}{median:>10.2f}{fastest:>10.2f}{target:>9.0f}{median / target:>8.2f}"
              f"  {'ok' if ok else 'SLOW'}")
    capped = data.model_copy(update={"word_limit": 600})
    for label, limited in (("compose", data), ("compose, 600-word cap", capped)):
        median, fastest = timed(lambda d=limited: compose(d, knowledge), max(5, args.runs // 3))  # type: ignore[misc]
        print(f"{label:<22}{median:>10.2f}{fastest:>10.2f}{'':>9}{'':>8}")
    return 1 if failed and not args.smoke else 0


if __name__ == "__main__":
    raise SystemExit(main())
