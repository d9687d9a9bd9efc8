"""The knowledge folder: shipped files validate, say their source and status, and a support
organisation can drop in its own framework (and gets a precise message when it is wrong)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

from svbot.config import get_settings
from svbot.knowledge import REQUIRED_EVIDENCE_KINDS, KnowledgeError, default_knowledge, load_knowledge
from svbot.paths import dialogues_dir, knowledge_dir
from tests.scenario import Clock, ScenarioBot, make_bot

SHIPPED = knowledge_dir()

SVM_OUTCOMES = {
    "Theme 1: COVID-19 recovery": ["Help local communities to manage and recover from the impact of COVID-19"],
    "Theme 2: Tackling economic inequality": [
        "Create new businesses, new jobs and new skills",
        "Increase supply chain resilience and capacity",
    ],
    "Theme 3: Fighting climate change": ["Effective stewardship of the environment"],
    "Theme 4: Equal opportunity": ["Reduce the disability employment gap", "Tackle workforce inequality"],
    "Theme 5: Wellbeing": ["Improve health and wellbeing", "Improve community integration"],
}

PROTECTED = {
    "age", "disability", "gender_reassignment", "marriage_civil_partnership", "pregnancy_maternity",
    "race", "religion_belief", "sex", "sexual_orientation",
}

MINIMAL_FRAMEWORK = {
    "id": "my_council",
    "title": "My Council Social Value Priorities",
    "owner": "My Council",
    "source": {"citation": "My Council, Social Value Policy (2024)", "url": "https://example.gov.uk/sv"},
    "status": "official",
    "status_note": "This is My Council's own wording.",
    "licence": "My Council, reproduced with permission.",
    "objectives": [
        {
            "id": f"objective_{n}",
            "title": f"Objective {n}",
            "explanation": "What it means.",
            "examples": ["An example."],
            "measures": {"outputs": ["A count"], "outcomes": ["A change"]},
            "questions": ["A question?"],
        }
        for n in range(4)
    ],
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, target)
    return target


def write(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_frameworks_load_with_source_status_and_licence() -> None:
    knowledge = load_knowledge(SHIPPED)
    assert list(knowledge.frameworks) == [
        "building_social_capital", "local_pledge", "ppn_002_social_value_model", "uk_social_value_model",
    ]  # fmt: skip
    for framework in knowledge.frameworks.values():
        assert framework.source.citation
        assert framework.licence
        assert framework.status in ("official", "illustrative")
        assert framework.status_note.count(".") >= 1
        # What the set is for, shown in the picker: one sentence, not "a good general choice".
        assert framework.use_when and framework.use_when.startswith(("For ", "Only ")), framework.id
        assert framework.use_when.count(". ") == 0 and "general choice" not in framework.use_when
        for objective in framework.objectives:
            assert objective.examples and objective.questions and objective.explanation
            assert objective.measures.outputs or objective.measures.outcomes


def test_illustrative_sets_say_so_plainly() -> None:
    knowledge = load_knowledge(SHIPPED)
    for framework_id in ("building_social_capital", "local_pledge"):
        framework = knowledge.frameworks[framework_id]
        assert framework.status == "illustrative"
        assert framework.is_illustrative
        assert "illustrative" in framework.status_note
        assert "not" in framework.status_note  # "... not the council's official wording"
        assert len(framework.objectives) == 6
    bsc = knowledge.frameworks["building_social_capital"]
    assert "East Sussex" in bsc.source.citation and "2011" in bsc.source.citation
    pledge = knowledge.frameworks["local_pledge"]
    assert pledge.definition and pledge.evidencing
    assert "Brighton" in pledge.source.citation


def test_social_value_model_has_its_five_themes_and_eight_outcomes() -> None:
    svm = load_knowledge(SHIPPED).frameworks["uk_social_value_model"]
    assert svm.status == "official"
    found: dict[str, list[str]] = {}
    for objective in svm.objectives:
        assert objective.theme is not None
        found.setdefault(objective.theme, []).append(objective.title)
    assert found == SVM_OUTCOMES
    assert "06/20" in svm.source.citation
    assert svm.source.url and svm.source.url.startswith("https://www.gov.uk/")
    assert "Open Government Licence v3.0" in svm.licence and "Crown copyright" in svm.licence
    assert "PPN 002" in svm.status_note  # the newer note that replaced it


def test_ppn_06_20_says_ppn_002_replaced_it_in_its_title_picker_line_and_statement_notice() -> None:
    svm = load_knowledge(SHIPPED).frameworks["uk_social_value_model"]
    assert svm.title == "Social Value Model (PPN 06/20), replaced by PPN 002"
    assert svm.is_replaced and not svm.is_illustrative, "its names are still the official ones"
    assert svm.use_when and "PPN 002" in svm.use_when
    notice = svm.notice
    assert notice is not None and notice == svm.replaced_note
    assert "PPN 002 has replaced PPN 06/20" in notice
    assert "February 2025" in notice and "1 October 2025" in notice and "central government" in notice
    assert "Neither is binding on council grants" in notice
    assert "1 October 2025" in svm.status_note


def test_ppn_002_model_is_its_own_framework_with_source_and_licence_and_no_covid() -> None:
    ppn = load_knowledge(SHIPPED).frameworks["ppn_002_social_value_model"]
    assert ppn.title == "Social Value Model (PPN 002)"
    assert "Procurement Policy Note 002" in ppn.source.citation and "2025" in ppn.source.citation
    assert ppn.source.url == (
        "https://www.gov.uk/government/publications/ppn-002-taking-account-of-social-value-in-the-award-of-contracts"
    )
    assert any("Guide to using the Social Value Model" in s.citation for s in ppn.see_also)
    assert all(s.url and s.url.startswith("https://www.gov.uk/") for s in ppn.see_also)
    assert "Crown copyright" in ppn.licence and "Open Government Licence v3.0" in ppn.licence
    assert "attribution" in ppn.licence
    assert not ppn.is_replaced
    # svbot could not confirm the outcomes' exact words: a paraphrase is never passed off as official.
    assert ppn.status == "illustrative" and ppn.notice == ppn.status_note
    assert "not the official outcomes" in ppn.status_note and "summary" in ppn.status_note
    assert not ppn.evidencing, "the walk-through would print it as the government's own words"
    missions = {o.theme for o in ppn.objectives}
    assert missions == {
        "Mission: Kickstart economic growth", "Mission: Make Britain a clean energy superpower",
        "Mission: Break down barriers to opportunity", "Mission: Build an NHS fit for the future",
        "Mission: Take back our streets",
    }  # fmt: skip
    for objective in ppn.objectives:
        words = " ".join([objective.id, objective.title, objective.explanation, *objective.examples]).lower()
        assert "covid" not in words and "pandemic" not in words, objective.id
    assert "covid" not in ppn.model_dump_json().lower()


def test_notice_is_what_a_statement_must_print() -> None:
    knowledge = load_knowledge(SHIPPED)
    bsc = knowledge.frameworks["building_social_capital"]
    assert bsc.notice == bsc.status_note, "an illustrative set says it is not the council's wording"
    official = load_knowledge(SHIPPED).frameworks["uk_social_value_model"].model_copy(update={"replaced_note": None})
    assert official.notice is None, "an official set that nothing replaced needs no note"
    both = bsc.model_copy(update={"replaced_note": "Replaced by the 2027 set."})
    assert both.notice == f"{bsc.status_note} Replaced by the 2027 set."


def test_guidance_has_glossary_principles_and_walkthrough_lists() -> None:
    guidance = load_knowledge(SHIPPED).guidance
    terms = {entry.id for entry in guidance.glossary}
    assert {"bonding", "bridging", "linking", "outputs", "outcomes", "additionality"} <= terms
    for entry in guidance.glossary:
        assert entry.meaning and entry.example
    principles = {p.id for p in guidance.principles}
    assert {"involve_stakeholders", "do_not_over_claim", "be_transparent", "verify_the_result",
            "only_what_is_material", "understand_what_changes", "value_what_matters"} <= principles
    protected = {c.id for c in guidance.equality_characteristics if c.protected}
    assert protected == PROTECTED
    others = {c.id for c in guidance.equality_characteristics if not c.protected}
    assert {"low_income", "carers", "rural_isolation"} <= others
    assert [k.id for k in guidance.evidence_kinds] == list(REQUIRED_EVIDENCE_KINDS)
    assert guidance.beneficiary_label("older_people") == "Older people"
    groups = {g.id: g for g in guidance.beneficiary_groups}
    assert groups["people_with_learning_disabilities"].label == "People with learning disabilities"
    assert groups["people_with_learning_disabilities"].equality == ["disability"]
    assert groups["people_with_long_term_conditions"].label == "People with long-term health conditions"
    assert groups["people_with_long_term_conditions"].equality == ["disability"]
    assert groups["vulnerable_adults"].label == "Vulnerable adults"
    assert groups["vulnerable_adults"].equality == [], "a safeguarding word, not an equality group"
    assert guidance.equality_of(["vulnerable_adults", "people_with_learning_disabilities"]) == ["disability"]
    assert guidance.beneficiary_label("our own words") == "our own words"
    assert guidance.sources and all(s.licence for s in guidance.sources)


def test_no_proxy_money_values_are_shipped() -> None:
    # HACT Social Value Bank and National TOMs licences forbid copying their £ proxies.
    for path in SHIPPED.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"£\s?\d", text), f"{path.name} contains a £ figure"
    assert "HACT" in load_knowledge(SHIPPED).guidance.values_note


def test_models_work_in_a_sandboxed_template() -> None:
    knowledge = load_knowledge(SHIPPED)
    template = SandboxedEnvironment().from_string(
        "{% for o in f.objectives %}{{ o.title }}|{{ o.measures.outputs[0] }};{% endfor %}"
    )
    text = template.render(f=knowledge.frameworks["local_pledge"])
    assert text.startswith("We involve local people in shaping what we do|Number of people consulted;")


def test_a_dropped_in_framework_is_loaded(folder: Path) -> None:
    write(folder, "my_council.yaml", MINIMAL_FRAMEWORK)
    knowledge = load_knowledge(folder)
    assert "my_council" in knowledge.frameworks
    mine = knowledge.framework("my_council")
    assert mine.objective("objective_2").title == "Objective 2"
    assert mine.directory == folder
    assert list(knowledge.frameworks) == sorted(knowledge.frameworks)


def test_a_dropped_in_framework_may_bring_its_template(folder: Path) -> None:
    (folder / "my_council.md.j2").write_text('{% extends "svbot/statement.md.j2" %}', encoding="utf-8")
    write(folder, "my_council.yaml", {**MINIMAL_FRAMEWORK, "template": "my_council.md.j2"})
    framework = load_knowledge(folder).framework("my_council")
    assert framework.template == "my_council.md.j2" and framework.template_format == "md"


def test_missing_template_file_is_reported(folder: Path) -> None:
    write(folder, "my_council.yaml", {**MINIMAL_FRAMEWORK, "template": "absent.md.j2"})
    with pytest.raises(KnowledgeError, match=r"my_council\.yaml: template: .*absent\.md\.j2"):
        load_knowledge(folder)


@pytest.mark.parametrize("template", ["../escape.md.j2", "sub/x.md.j2", "plain.j2"])
def test_template_must_be_a_plain_named_file(folder: Path, template: str) -> None:
    write(folder, "my_council.yaml", {**MINIMAL_FRAMEWORK, "template": template})
    with pytest.raises(KnowledgeError, match=r"my_council\.yaml: template: "):
        load_knowledge(folder)


def test_broken_file_names_file_path_and_reason(folder: Path) -> None:
    broken = yaml.safe_load(yaml.safe_dump(MINIMAL_FRAMEWORK))
    del broken["objectives"][2]["examples"]
    write(folder, "my_council.yaml", broken)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    message = str(caught.value)
    assert "my_council.yaml" in message
    assert "objectives[2].examples" in message
    assert "required but missing" in message


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (lambda d: d["objectives"][1].update(exmaples=["typo"]), "objectives[1].exmaples", "unknown key"),
        (lambda d: d.update(status="draft"), "status", "'official' or 'illustrative'"),
        (lambda d: d["objectives"][0].update(examples=[]), "objectives[0].examples", "at least 1"),
        (lambda d: d["source"].update(url="example.org"), "source.url", "web address"),
        (lambda d: d.update(id="My Council"), "id", "pattern"),
        (lambda d: d["objectives"][3].update(id="objective_0"), "objectives", "used twice"),
    ],
)
def test_each_kind_of_mistake_is_located(folder: Path, change, where: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(yaml.safe_dump(MINIMAL_FRAMEWORK))
    change(data)
    write(folder, "my_council.yaml", data)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    message = str(caught.value)
    assert f"my_council.yaml: {where}" in message
    assert reason in message


def test_yaml_syntax_error_gives_the_line(folder: Path) -> None:
    (folder / "bad.yaml").write_text("id: bad\ntitle: [unclosed\nowner: x\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"bad\.yaml: line \d+"):
        load_knowledge(folder)


def test_file_that_is_not_a_mapping(folder: Path) -> None:
    (folder / "list.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"list\.yaml: \(top level\): expected keys and values"):
        load_knowledge(folder)


def test_duplicate_framework_id_across_files(folder: Path) -> None:
    write(folder, "copy.yaml", {**MINIMAL_FRAMEWORK, "id": "local_pledge"})
    with pytest.raises(KnowledgeError, match=r"id: 'local_pledge' is already used by"):
        load_knowledge(folder)


def test_guidance_must_keep_the_evidence_kinds(folder: Path) -> None:
    guidance = yaml.safe_load((folder / "guidance.yaml").read_text(encoding="utf-8"))
    guidance["evidence_kinds"] = [k for k in guidance["evidence_kinds"] if k["id"] != "none_yet"]
    write(folder, "guidance.yaml", guidance)
    with pytest.raises(KnowledgeError, match=r"guidance\.yaml: .*must include none_yet"):
        load_knowledge(folder)


def test_missing_guidance_or_folder(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="knowledge folder not found"):
        load_knowledge(tmp_path / "nowhere")
    with pytest.raises(KnowledgeError, match=r"guidance\.yaml: file missing"):
        load_knowledge(tmp_path)


def test_unknown_framework_lookup_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="known: building_social_capital, local_pledge"):
        load_knowledge(SHIPPED).framework("nope")


def test_default_knowledge_follows_settings_and_sees_new_files(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SVBOT_KNOWLEDGE_DIR", str(folder))
    get_settings.cache_clear()
    try:
        first = default_knowledge()
        assert "my_council" not in first.frameworks
        assert default_knowledge() is first  # cached while nothing changes
        write(folder, "my_council.yaml", MINIMAL_FRAMEWORK)
        assert "my_council" in default_knowledge().frameworks
    finally:
        get_settings.cache_clear()


# ---- the picker, through the real walk-through --------------------------------------------------


@pytest.fixture
async def person(db_url: str) -> ScenarioBot:
    bot = await make_bot(db_url, dialogues_dir=dialogues_dir(), clock=Clock())
    yield ScenarioBot(bot)
    await bot.db_engine.dispose()  # type: ignore[attr-defined]


async def reach_the_framework_question(person: ScenarioBot) -> None:
    await person.say("hello")
    for answer in ("Whitehawk Befrienders", "Phone befriending for older people in Brighton", "Under £10,000"):
        await person.say(answer)
    assert person.last_message.meta.get("key") == "framework", person.transcript[-3:]


async def test_the_picker_says_what_each_framework_is_for(person: ScenarioBot) -> None:
    await reach_the_framework_question(person)
    question = person.last_message
    assert "general choice" not in question.text
    frameworks = load_knowledge(SHIPPED).frameworks.values()
    assert [b.label for b in question.buttons] == [f.title for f in frameworks]
    for framework in frameworks:
        assert f"• {framework.title}: {framework.use_when}" in question.text
    assert "Social Value Model (PPN 06/20), replaced by PPN 002" in question.text


async def test_picking_ppn_002_leads_to_its_objectives(person: ScenarioBot) -> None:
    await reach_the_framework_question(person)
    await person.press("Social Value Model (PPN 002)")
    assert "illustrative summary" in person.text, "told at once that the outcome headings are svbot's"
    for _ in range(20):  # skip the questions about the whole group
        if person.last_message.meta.get("key") == "objectives":
            break
        await person.say("skip")
    objectives = person.last_message
    assert objectives.meta.get("key") == "objectives"
    ppn = load_knowledge(SHIPPED).frameworks["ppn_002_social_value_model"]
    assert [b.label for b in objectives.buttons] == [o.title for o in ppn.objectives]
    assert not any("COVID" in b.label for b in objectives.buttons)
    await person.say("safer")
    assert person.last_message.meta.get("key") == "per_objective.safer_communities.activity"
