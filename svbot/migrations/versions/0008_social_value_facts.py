"""social value answers: facts about the whole organisation, from the figures given per objective

Issue 14 asks once, under `facts.`, what the walk-through used to ask for every objective: who
benefits, the equality groups, people reached, volunteers, volunteer hours, partners, local spend
and an own £ value. This copies answers given in the old shape into the new keys, in both places
answers live: each conversation's state (conversations.state: answers, skipped, suggestions) and
the evidence bank (the answers table), for the `social_value` dialogue.

- facts.who_benefits = the union of the objectives' `beneficiaries` (the first objective's order
  first); facts.equality = the union of their `equality`;
- facts.people_reached, volunteers, volunteer_hours, partners, local_spend = the largest value over
  the objectives: the same people are often counted under several objectives, so the largest is an
  honest lower bound where a sum would over-claim; facts.own_value = the largest, with its source;
- facts.period = "last_12_months" wherever a figure was copied (the old questions said "in the
  last 12 months");
- in a conversation's state, a fact skipped (or "I don't know") under every objective that was asked
  it, and answered under none, is skipped under `facts.` too, so it is not asked again.

The old per-objective keys stay as they are (commitment_measure too: the statement adds the
measure to the commitment), and a new key that already exists is never overwritten. Stored
statements (statements.data) are not touched: they render as they are.

A conversation waiting at a question the walk-through no longer asks (`org.where`, or an old
per-objective figure such as per_objective.<objective>.people_reached) keeps its cursor: the engine
finds the question gone and carries on at the first unanswered one (svbot/dialogue/navigation.py,
next_question). So that the person is told, rather than given a different question in reply to
their answer, its `last_active` is set back to the epoch: that time only decides whether the next
message is met with "Welcome back! Would you like to carry on, or start again?".

Revision ID: 0008_social_value_facts
Revises: 0007_locale
Create Date: 2026-12-02 10:00:00.000000
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0008_social_value_facts'
down_revision = '0007_locale'
branch_labels = None
depends_on = None

DIALOGUE = 'social_value'
BATCH = 500
LISTS = {'who_benefits': 'beneficiaries', 'equality': 'equality'}  # facts.<new>: union of per-objective <old>
LARGEST = ('people_reached', 'volunteers', 'volunteer_hours', 'partners', 'local_spend')
# Questions the walk-through no longer asks, under each objective.
GONE = frozenset({
    'beneficiaries', 'equality', 'people_reached', 'sessions', 'volunteers', 'volunteer_hours',
    'local_spend', 'partners', 'own_value', 'own_value_source', 'commitment_measure',
})
WAITING = frozenset({'ask', 'confirm', 'review', 'review_pick'})  # modes that get "welcome back"
EPOCH = '1970-01-01T00:00:00Z'
ANY_ITEM = '*.'  # a suggestion key for "this question, under any objective"

# The tables as this revision knows them (no ORM models: they change after this file is written).
conversations = sa.table(
    'conversations', sa.column('id', sa.Integer), sa.column('state', sa.JSON),
)
answers = sa.table(
    'answers',
    sa.column('id', sa.Integer), sa.column('conversation_id', sa.Integer), sa.column('organisation_id', sa.Integer),
    sa.column('dialogue_id', sa.String), sa.column('key', sa.String), sa.column('value', sa.JSON),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    connection = op.get_bind()
    _conversations(connection)
    _bank(connection)


def downgrade() -> None:
    # Nothing to undo: the old per-objective answers were left in place and the old code reads only
    # them, so the added facts.* answers are simply unused by it. Deleting them could also delete
    # facts given since the upgrade.
    pass


# ---- the mapping --------------------------------------------------------------------------------


def slug(value: str) -> str:
    """An objective's id as it appears in answer keys (svbot.dialogue.spec.slug, as of this revision)."""
    return re.sub(r'[^a-z0-9_]+', '_', str(value).lower()).strip('_') or 'item'


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _objective_prefixes(flat: dict[str, Any]) -> list[str]:
    """`per_objective.<slug>.` for each objective with answers: the chosen objectives in their
    order first, then any others answered (an objective unticked later, an earlier walk-through)."""
    chosen = flat.get('objectives')
    order = [slug(o) for o in chosen] if isinstance(chosen, list) else []
    for key in flat:
        parts = key.split('.')
        if len(parts) == 3 and parts[0] == 'per_objective' and parts[1] not in order:
            order.append(parts[1])
    return [f'per_objective.{s}.' for s in order]


def new_facts(flat: dict[str, Any]) -> dict[str, tuple[Any, list[str]]]:
    """The facts.* answers the old per-objective answers give: key -> (value, the old keys it came from).

    `flat` is answer key -> value (None: skipped). Keys already in `flat` are left out."""
    prefixes = _objective_prefixes(flat)
    found: dict[str, tuple[Any, list[str]]] = {}
    for new, old in LISTS.items():
        union: list[Any] = []
        sources = []
        for p in prefixes:
            value = flat.get(p + old)
            if isinstance(value, list) and value:
                sources.append(p + old)
                union += [v for v in value if v not in union]
        if union:
            found['facts.' + new] = (union, sources)
    for name in LARGEST:
        given = [(flat[p + name], p + name) for p in prefixes if _is_number(flat.get(p + name))]
        if given:
            value, source = max(given, key=lambda pair: pair[0])  # the first objective's, on a tie
            found['facts.' + name] = (value, [source])
    owned = [
        (flat[p + 'own_value'], p) for p in prefixes
        if _is_number(flat.get(p + 'own_value')) and isinstance(flat.get(p + 'own_value_source'), str)
        and flat[p + 'own_value_source'].strip()
    ]
    if owned:
        value, p = max(owned, key=lambda pair: pair[0])
        found['facts.own_value'] = (value, [p + 'own_value'])
        found['facts.own_value_source'] = (flat[p + 'own_value_source'], [p + 'own_value_source'])
    found = {key: mapped for key, mapped in found.items() if key not in flat}
    figures = [s for name in (*LARGEST, 'own_value') for s in found.get('facts.' + name, (None, []))[1]]
    if figures and 'facts.period' not in flat:
        found['facts.period'] = ('last_12_months', figures)
    return found


def skipped_facts(answers_: dict[str, Any], skipped: list[str]) -> list[str]:
    """facts.* keys to note as skipped: skipped under every objective asked, answered under none."""
    prefixes = _objective_prefixes({**answers_, **{k: None for k in skipped}})
    noted = []
    for new, old in [*LISTS.items(), *((n, n) for n in (*LARGEST, 'own_value'))]:
        keys = [p + old for p in prefixes]
        if any(k in answers_ for k in keys) or not any(k in skipped for k in keys):
            continue
        if 'facts.' + new not in answers_ and 'facts.' + new not in skipped:
            noted.append('facts.' + new)
    return noted


def new_suggestions(suggestions: dict[str, Any]) -> dict[str, Any]:
    """facts.* suggestions ("last time you told me ...") from the per-objective ones, by the same rules."""
    flat = {k: s.get('value') for k, s in suggestions.items() if isinstance(s, dict) and not k.startswith(ANY_ITEM)}
    made = {}
    for key, (value, sources) in new_facts(flat).items():
        when = next((suggestions[s].get('when') for s in sources if suggestions[s].get('when')), None)
        made[key] = {'value': value, 'when': when}
    return {k: v for k, v in made.items() if k not in suggestions}


def _lost(cursor: Any) -> bool:
    """Whether the question at the cursor is one the walk-through no longer asks."""
    if not isinstance(cursor, str):
        return False
    parts = cursor.split('.')
    return cursor == 'org.where' or (len(parts) == 3 and parts[0] == 'per_objective' and parts[2] in GONE)


# ---- conversations.state ------------------------------------------------------------------------


def _conversations(connection: sa.Connection) -> None:
    for batch in _batches(connection, sa.select(conversations.c.id, conversations.c.state), conversations.c.id):
        for row in batch:
            state = row.state
            if not isinstance(state, dict) or state.get('dialogue') != DIALOGUE:
                continue
            changed = _map_state(state)
            if changed is not None:
                connection.execute(
                    conversations.update().where(conversations.c.id == row.id).values(state=changed)
                )


def _map_state(state: dict[str, Any]) -> dict[str, Any] | None:
    """The state with the new keys added, or None when nothing changes."""
    given = dict(state.get('answers') or {})
    skipped = list(state.get('skipped') or [])
    suggestions = dict(state.get('suggestions') or {})
    added = {key: value for key, (value, _) in new_facts(given).items() if key not in skipped}
    also_skipped = skipped_facts(given, skipped)
    offered = new_suggestions(suggestions)
    lost = _lost(state.get('cursor')) and state.get('mode') in WAITING
    if not (added or also_skipped or offered or lost):
        return None
    changed = dict(state)
    changed['answers'] = {**given, **added}
    changed['skipped'] = skipped + also_skipped
    changed['suggestions'] = {**suggestions, **offered}
    if lost:
        changed['last_active'] = EPOCH
    return changed


# ---- the evidence bank --------------------------------------------------------------------------


def _bank(connection: sa.Connection) -> None:
    ids = sa.select(answers.c.conversation_id.label('id')).where(answers.c.dialogue_id == DIALOGUE).distinct()
    for batch in _batches(connection, ids.subquery(), None):
        rows = connection.execute(
            sa.select(answers.c.conversation_id, answers.c.organisation_id, answers.c.key, answers.c.value,
                      answers.c.updated_at)
            .where(answers.c.dialogue_id == DIALOGUE, answers.c.conversation_id.in_([r.id for r in batch]))
            .order_by(answers.c.conversation_id, answers.c.id)
        ).all()
        new_rows = []
        for conversation_id in dict.fromkeys(r.conversation_id for r in rows):
            mine = [r for r in rows if r.conversation_id == conversation_id]
            by_key = {r.key: r for r in mine}
            flat = {r.key: r.value for r in mine}
            for key, (value, sources) in new_facts(flat).items():
                newest = max((by_key[s] for s in sources), key=lambda r: _sortable(r.updated_at))
                new_rows.append({
                    'conversation_id': conversation_id, 'organisation_id': newest.organisation_id,
                    'dialogue_id': DIALOGUE, 'key': key, 'value': value, 'updated_at': newest.updated_at,
                })
        if new_rows:
            connection.execute(answers.insert(), new_rows)


def _sortable(when: datetime | None) -> str:
    return when.isoformat() if when is not None else ''


def _batches(connection: sa.Connection, source: Any, id_column: Any) -> Iterator[list[Any]]:
    """The rows of `source` (a select with an id column, or a subquery of ids), BATCH at a time, by id."""
    if id_column is None:
        id_column = source.c.id
        query = sa.select(source.c.id)
    else:
        query = source
    last = None
    while True:
        page = query.order_by(id_column).limit(BATCH)
        if last is not None:
            page = page.where(id_column > last)
        rows = connection.execute(page).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id
