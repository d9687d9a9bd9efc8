"""The engine's button payloads: one codec, readable values, old buttons still understood. And the modes
stored in conversations: the same strings as before."""

from __future__ import annotations

import pytest

from svbot.dialogue.engine import Engine
from svbot.dialogue.payloads import INDEXED, Action, Press, decode, encode, is_engine_payload
from svbot.dialogue.spec import load_dialogues
from svbot.dialogue.state import ConvState, Mode
from tests.scenario import START, TEST_DIALOGUES


@pytest.mark.parametrize("action", list(Action))
def test_every_action_round_trips(action: Action) -> None:
    index = 2 if action in INDEXED else None
    payload = encode(3, action, index)
    assert decode(payload) == Press(3, action, index)
    assert is_engine_payload(payload)


def test_payloads_read_as_what_they_do() -> None:
    assert encode(3, Action.CHOOSE, 2) == "3:choose:2"
    assert encode(3, Action.TOGGLE, 1) == "3:toggle:1"
    assert encode(3, Action.REVIEW_OK) == "3:review-ok"
    assert encode(12, Action.BACK) == "12:back"


@pytest.mark.parametrize(
    ("old", "press"),
    [
        ("7:o2", Press(7, Action.CHOOSE, 2)),
        ("7:t10", Press(7, Action.TOGGLE, 10)),
        ("7:d", Press(7, Action.DONE)),
        ("7:y", Press(7, Action.YES)),
        ("7:n", Press(7, Action.NO)),
        ("7:k", Press(7, Action.KEEP)),
        ("7:ok", Press(7, Action.REVIEW_OK)),
        ("7:chg", Press(7, Action.CHANGE)),
        ("7:cont", Press(7, Action.CARRY_ON)),
        ("7:new", Press(7, Action.START_AGAIN)),
        ("7:b", Press(7, Action.BACK)),
        ("7:s", Press(7, Action.SKIP)),
        ("7:h", Press(7, Action.HELP)),
        ("7:st", Press(7, Action.STATUS)),
        ("7:c", Press(7, Action.CANCEL)),
        ("7:r", Press(7, Action.RESTART)),
    ],
)
def test_buttons_sent_before_the_new_format_are_still_understood(old: str, press: Press) -> None:
    assert decode(old) == press


@pytest.mark.parametrize(
    "payload",
    ["", "nonsense", "dl:submitted:12", "restart", "3:", "3:zz", "3:choose", "3:choose:x", "3:back:1",
     "3:o", "3:ok1", "3:Back", "3:back\n", " 3:back", "-3:back", "3:choose:-1", "1" * 5000 + ":back",
     "3:choose:" + "9" * 5000],
)  # fmt: skip
def test_anything_else_is_not_a_press(payload: str) -> None:
    assert decode(payload) is None


def test_only_payloads_led_by_a_turn_number_go_to_the_engine() -> None:
    assert is_engine_payload("3:zz") and is_engine_payload("99:o1")
    assert not is_engine_payload("dl:submitted:12") and not is_engine_payload("restart")


def test_payloads_fit_telegram_callback_data() -> None:
    longest = max((encode(10**9 - 1, a, 9999 if a in INDEXED else None) for a in Action), key=len)
    assert len(longest.encode()) <= 64, longest


def test_an_action_takes_an_index_exactly_when_it_picks_an_option() -> None:
    with pytest.raises(ValueError):
        encode(3, Action.CHOOSE)
    with pytest.raises(ValueError):
        encode(3, Action.BACK, 1)


STORED_MODES = ["idle", "ask", "confirm", "review", "review_pick", "resume", "confirm_restart", "paused", "done"]


@pytest.mark.parametrize("value", STORED_MODES)
def test_modes_stored_in_conversations_load_and_store_as_before(value: str) -> None:
    state = ConvState.model_validate({"mode": value, "resume_mode": value})
    assert state.mode == Mode(value) and state.resume_mode == Mode(value)
    stored = state.model_dump(mode="json")
    assert stored["mode"] == value and stored["resume_mode"] == value


def test_every_mode_is_one_stored_before() -> None:
    assert sorted(mode.value for mode in Mode) == sorted(STORED_MODES)


def test_a_button_sent_in_the_old_format_still_answers_its_question() -> None:
    engine = Engine(load_dialogues(TEST_DIALOGUES))
    state = engine.begin("every_type", {}, START).state
    for said in ["Club", "skip", "skip", "2", "skip", "31/01/2027"]:
        state = engine.advance(state, {}, START, text=said).state
    assert state.cursor == "size"
    old = engine.advance(state, {}, START, payload=f"{state.turn}:o2")
    new = engine.advance(state, {}, START, payload=f"{state.turn}:choose:2")
    assert old.state.answers["size"] == new.state.answers["size"] == "medium"
    assert [m.text for m in old.messages] == [m.text for m in new.messages]
    stale = engine.advance(old.state, {}, START, payload=f"{state.turn}:o0")
    assert "earlier question" in stale.messages[0].text and stale.state.answers["size"] == "medium"
