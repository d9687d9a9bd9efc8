"""Answer parsing: what people type, and the reasons we give when we can't read it."""

from datetime import date

import pytest

from svbot.dialogue.answers import (
    QUALIFIERS,
    Choice,
    Invalid,
    clean,
    dont_know,
    format_money,
    match_choice,
    match_choices,
    parse_date,
    parse_money,
    parse_number,
    parse_text,
    parse_yes_no,
    qualified,
    qualifier_key,
    read_amount,
    read_qualifier,
    unknown_choice,
)

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("31/01/2027", "2027-01-31"),
        ("2027-01-31", "2027-01-31"),
        ("31 Jan 2027", "2027-01-31"),
        ("31st January 2027", "2027-01-31"),
        ("January 31, 2027", "2027-01-31"),
        ("1/2/27", "2027-02-01"),  # day first, as in the UK
        ("end of March", "2027-03-31"),  # the next end of March from 22 Nov 2026
        ("end of November", "2026-11-30"),
        ("start of December 2027", "2027-12-01"),
        ("tomorrow", "2026-11-23"),
        ("in 2 weeks", "2026-12-06"),
    ],
)
def test_dates_read_the_uk_way(typed: str, expected: str) -> None:
    assert parse_date(typed, TODAY).value == expected


@pytest.mark.parametrize("typed", ["31/02/2027", "30 February 2027"])
def test_impossible_dates_are_named_as_such(typed: str) -> None:
    with pytest.raises(Invalid, match="doesn't exist"):
        parse_date(typed, TODAY)


@pytest.mark.parametrize("typed", ["next-ish", "32/13/2027", "soon", ""])
def test_unreadable_dates_give_an_example(typed: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_date(typed, TODAY)
    assert caught.value.example and "31/01/2027" in caught.value.example


def test_dates_in_the_past_can_be_refused() -> None:
    with pytest.raises(Invalid, match="before 22 November 2026"):
        parse_date("01/01/2026", TODAY, not_before=TODAY)


@pytest.mark.parametrize(
    ("typed", "value", "needs_check"),
    [("1,200", 1200, False), ("1 200", 1200, False), ("42", 42, False), ("about 40", 40, False),
     ("40ish", 40, False), ("roughly 1.5k", 1500, False), ("twelve", 12, False)],
)  # fmt: skip
def test_numbers(typed: str, value: int, needs_check: bool) -> None:
    parsed = parse_number(typed, integer=True, minimum=0)
    assert parsed.value == value and isinstance(parsed.value, int)
    assert (parsed.confirm is not None) == needs_check


def test_number_limits_and_non_numbers() -> None:
    with pytest.raises(Invalid, match="below zero"):
        parse_number("-3", integer=True, minimum=0)
    with pytest.raises(Invalid, match="most I can take"):
        parse_number("20000", integer=True, maximum=10000)
    with pytest.raises(Invalid, match="whole number"):
        parse_number("2.5", integer=True)
    with pytest.raises(Invalid, match="couldn't read"):
        parse_number("lots", integer=True)
    assert parse_number("2.5", integer=False).value == 2.5
    absurd = parse_number("5000000", integer=True, soft_max=100000)
    assert absurd.value == 5_000_000 and "a lot more" in (absurd.confirm or "")


@pytest.mark.parametrize(
    ("typed", "value"), [("£1.2k", 1200), ("£1,200.50", 1200.5), ("1.2m", 1_200_000), ("500 pounds", 500)]
)
def test_money(typed: str, value: float) -> None:
    assert parse_money(typed).value == value


def test_money_refuses_negative_and_text() -> None:
    with pytest.raises(Invalid):
        parse_money("-£5")
    with pytest.raises(Invalid, match="amount of money"):
        parse_money("a fair bit")
    # A length of time in a sentence is never taken for money (a reply to the wrong question).
    with pytest.raises(Invalid, match="amount of money"):
        parse_money("Our venue closed for 3 weeks")
    assert parse_money("we spent 3,500 in the first 3 months").value == 3500


def test_yes_no() -> None:
    assert parse_yes_no("Yep").value is True
    assert parse_yes_no("nope").value is False
    with pytest.raises(Invalid, match="yes or no"):
        parse_yes_no("maybe")


def test_text_limits() -> None:
    with pytest.raises(Invalid, match="didn't catch"):
        parse_text("", 10)
    with pytest.raises(Invalid, match="102,400 characters"):
        parse_text("x" * 102_400, 3000)


def test_clean_keeps_emoji_and_rtl_text_but_drops_control_characters() -> None:
    assert clean("  مرحبا 👋\x00\x1b[31m  ") == "مرحبا 👋[31m"
    assert clean("a\u202eb\r\nc") == "ab\nc"


CHOICES = [Choice("older", "Older people"), Choice("young", "Young people"), Choice("families", "Families")]


@pytest.mark.parametrize(
    ("typed", "value"),
    [("2", "young"), ("older", "older"), ("OLDER PEOPLE", "older"), ("fam", "families"), ("Young", "young")],
)
def test_choice_matching(typed: str, value: str) -> None:
    assert match_choice(typed, CHOICES).value == value


def test_ambiguous_and_unknown_choices_are_explained() -> None:
    with pytest.raises(Invalid, match='"Older people" or "Young people"'):
        match_choice("people", CHOICES)
    with pytest.raises(Invalid, match="no option 9"):
        match_choice("9", CHOICES)
    with pytest.raises(Invalid, match="isn't one of the options"):
        match_choice("dogs", CHOICES)


def test_several_choices_at_once() -> None:
    assert [c.value for c in match_choices("1, 3", CHOICES)] == ["older", "families"]
    assert [c.value for c in match_choices("1 3", CHOICES)] == ["older", "families"]
    assert [c.value for c in match_choices("young and families", CHOICES)] == ["young", "families"]
    assert len(match_choices("all of them", CHOICES)) == 3


# ---- answers as people type them (issue 14: what the four new groups typed and were refused) ----------


@pytest.mark.parametrize(
    ("typed", "value", "confirm"),
    [
        ("44 men came in the last year", 44, None),
        ("12 people", 12, None),
        ("twenty five", 25, None),
        ("twenty-five", 25, None),
        ("a hundred and twenty", 120, None),
        ("two dozen", 24, None),
        ("In 2025 we helped 300 people", 300, None),  # a year is not the answer
        ("about 7000 calls", 7000, None),  # kept with its "about": nothing to check
        ("38 x 2 x 48", 3648, "I worked that out as 38 × 2 × 48 = 3,648. Shall I put 3,648?"),
        ("38*2*48", 3648, "I worked that out as 38 × 2 × 48 = 3,648. Shall I put 3,648?"),
        ("15 families a week", 780, "I worked that out as 15 a week × 52 = 780 over a year. Shall I put 780?"
         " If it's mostly the same people each time, say no and tell me how many different people that is."),
        ("12 + 30", 42, "I worked that out as 12 + 30 = 42. Shall I put 42?"),
    ],
)
def test_numbers_as_people_write_them(typed: str, value: int, confirm: str | None) -> None:
    parsed = parse_number(typed, integer=True, minimum=0)
    assert (parsed.value, parsed.confirm) == (value, confirm)


def test_two_numbers_in_one_answer_are_asked_about_not_guessed() -> None:
    with pytest.raises(Invalid) as caught:
        parse_number("140 older people plus our 38 volunteers", integer=True, minimum=0)
    assert "more than one number there (140 and 38)" in caught.value.reason
    assert caught.value.example == "140"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("end of next march", "2027-03-31"),
        ("next March", "2027-03-31"),
        ("31st of January", "2027-01-31"),
        ("next Friday", "2026-11-27"),  # 22 November 2026 is a Sunday
        ("in a fortnight", "2026-12-06"),
        ("the 5th", "2026-12-05"),
        ("end of the month", "2026-11-30"),
        ("end of next month", "2026-12-31"),
        ("end of the financial year", "2027-03-31"),
    ],
)
def test_dates_in_natural_uk_english(typed: str, expected: str) -> None:
    assert parse_date(typed, TODAY).value == expected


def test_a_typo_in_a_choice_is_forgiven_but_nonsense_is_not() -> None:
    choices = [Choice("older", "Older people"), Choice("young", "Young people"), Choice("carers", "Carers")]
    assert match_choice("Older poeple", choices).value == "older"
    with pytest.raises(Invalid, match="isn't one of the options"):
        match_choice("xyz", choices)


# ---- "about 60": the number, and the word kept with it (issue 14, finding 4) ----------------------------


@pytest.mark.parametrize(
    ("typed", "value", "qualifier"),
    [
        ("about 60", 60, "about"),
        ("around 60", 60, "about"),
        ("roughly 60", 60, "about"),
        ("approximately 60", 60, "about"),
        ("60ish", 60, "about"),
        ("60 or so", 60, "about"),
        ("~60", 60, "about"),
        ("over 60", 60, "over"),
        ("more than 60", 60, "over"),
        ("at least 60", 60, "at least"),
        ("60+", 60, "at least"),
        ("60 or more", 60, "at least"),
        ("nearly 60", 60, "nearly"),
        ("almost sixty", 60, "nearly"),
        ("up to 60", 60, "up to"),
        ("under £500", 500, "up to"),
        ("we reached about 60 older people", 60, "about"),
        ("about 15 families a week", 780, "about"),
        ("60", 60, None),
        ("12 + 30", 42, None),  # a sum, not "at least 12"
        ("over the year, 60 people came", 60, None),  # "over" is not next to the number
    ],
)
def test_the_qualifier_is_read_with_the_number(typed: str, value: int, qualifier: str | None) -> None:
    amount = read_amount(typed)
    assert (amount.value, amount.qualifier) == (value, qualifier)
    assert read_qualifier(typed) == qualifier
    assert qualifier is None or qualifier in QUALIFIERS


def test_parsed_numbers_carry_the_qualifier_without_a_check() -> None:
    parsed = parse_number("about 60", integer=True, minimum=0)
    assert (parsed.value, parsed.qualifier, parsed.confirm) == (60, "about", None)
    money = parse_money("over £1,200")
    assert (money.value, money.qualifier, money.confirm) == (1200, "over", None)
    plain = parse_number("60", integer=True)
    assert (plain.value, plain.qualifier, plain.confirm) == (60, None, None)


def test_qualified_formats_the_number_with_its_qualifier() -> None:
    answers = {"facts.people_reached": 60, qualifier_key("facts.people_reached"): "about",
               "facts.local_spend": 1200.5, "facts.local_spend~qualifier": "over", "facts.volunteers": 1500,
               "facts.what": "Lunches"}  # fmt: skip
    assert qualifier_key("facts.people_reached") == "facts.people_reached~qualifier"
    assert qualified(answers, "facts.people_reached") == "about 60"
    assert qualified(answers, "facts.local_spend", format_money) == "over £1,200.50"
    assert qualified(answers, "facts.volunteers") == "1,500"
    assert qualified(answers, "facts.what") is None and qualified(answers, "facts.missing") is None


# ---- "I don't know" ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["I don't know", "I don’t know", "don't know", "dont know", "dunno", "not sure", "I'm not sure", "no idea",
     "idk", "IDK!", "n/a", "N/A.", "none", "None 🙂", "unknown", "not sure yet 🤷", "🤷", "🤷‍♀️", "no idea :(",
     "sorry, no idea", "we don't know yet"],
)  # fmt: skip
def test_i_dont_know_however_it_is_put(typed: str) -> None:
    assert dont_know(typed)


@pytest.mark.parametrize(
    "typed", ["no", "nope", "60", "not", "none of the above", "Not sure where to start, but it helps", "", "🙂"]
)
def test_answers_that_are_not_i_dont_know(typed: str) -> None:
    assert not dont_know(typed)


def test_the_none_yet_kind_of_option_is_found() -> None:
    kinds = [Choice("survey", "Survey"), Choice("none_yet", "None yet")]
    assert unknown_choice(kinds) == Choice("none_yet", "None yet")
    assert unknown_choice([Choice("a", "Yes"), Choice("b", "Not sure")]) == Choice("b", "Not sure")
    assert unknown_choice(CHOICES) is None


def test_a_choice_named_first_wins_when_several_mention_what_was_typed() -> None:
    from svbot.dialogue.answers import Choice, match_choice

    choices = [Choice("old", "Social Value Model (PPN 06/20), replaced by PPN 002"),
               Choice("new", "Social Value Model (PPN 002)")]  # fmt: skip
    assert match_choice("PPN 002", choices).value == "new"
    assert match_choice("ppn 06/20", choices).value == "old"
    with pytest.raises(Invalid, match="could be"):
        match_choice("social value model", choices)  # both name it first: ask
