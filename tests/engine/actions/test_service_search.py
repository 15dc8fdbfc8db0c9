"""The service search: held-out accuracy, ranking, and the ask-or-answer decision."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.catalogue import Service
from actions.service_search import (
    CONFIDENT_SCORE,
    MIN_SCORE,
    Decision,
    Match,
    ServiceSearch,
    Verdict,
    core_term,
    decide,
    search_for,
    syllables,
)
from actions.settings import ActionSettings
from nlu.pinyin import fuzzy_syllable

SETTINGS = ActionSettings.from_env()
QUERIES = Path(__file__).resolve().parents[2] / "data" / "service_queries.yml"
MIN_TOP1_ACCURACY = 0.90


@pytest.fixture(scope="module")
def search() -> ServiceSearch:
    return search_for(SETTINGS.services_file)


def _show(request: pytest.FixtureRequest, lines: list[str]) -> None:
    """Write to the terminal past pytest's output capture: the accuracy is this run's report."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


def _top(search: ServiceSearch, query: str) -> str | None:
    matches = search.search(query)
    return matches[0].service.name if matches else None


# ------------------------------------------------------------------ held-out accuracy


def test_held_out_queries_top1_accuracy(
    search: ServiceSearch, request: pytest.FixtureRequest
) -> None:
    queries = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))["queries"]
    ids = {service.id for service in search.services}
    assert len(queries) >= 60
    assert {q["service"] for q in queries} <= ids, "a query names an unknown service id"
    aliases = {term for service in search.services for term in service.terms}
    assert not [q["text"] for q in queries if q["text"] in aliases], "queries must be held out"

    misses = []
    for query in queries:
        matches = search.search(query["text"])
        top = matches[0].service.id if matches else None
        if top != query["service"]:
            misses.append(f"  {query['text']} -> {top} (want {query['service']})")
    accuracy = 1 - len(misses) / len(queries)

    report = f"service search top-1 accuracy: {accuracy:.3f} ({len(queries)} held-out queries)"
    _show(request, [report, *misses])
    request.node.user_properties.append(("top1_accuracy", accuracy))
    assert accuracy >= MIN_TOP1_ACCURACY, "\n".join([report, *misses])


def test_every_name_and_alias_finds_its_own_service_confidently(search: ServiceSearch) -> None:
    for service in search.services:
        for term in service.terms:
            assert search.decide(term).service == service, (service.id, term)


# ------------------------------------------------------------------ sounds


def test_homophones_sound_the_same() -> None:
    assert syllables("任正") == syllables("认证")
    assert syllables("金贴") == syllables("津贴")
    assert syllables("一宝") == syllables("医保")
    assert syllables("残疾正") == syllables("残疾证")


def test_accent_merges() -> None:
    assert fuzzy_syllable("zhi") == fuzzy_syllable("zi") == "zi"
    assert fuzzy_syllable("shen") == "sen"
    assert fuzzy_syllable("nan") == "lan"
    assert fuzzy_syllable("jing") == fuzzy_syllable("jin")
    assert fuzzy_syllable("zhang") == "zan"
    assert fuzzy_syllable("ren") == "ren"


def test_verbs_before_a_name_are_not_part_of_it() -> None:
    assert core_term("办退休") == "退休"
    assert core_term("申请低保") == "低保"
    assert core_term("领轮椅") == "轮椅"
    assert core_term("吃低保") == "吃低保"


def test_fillers_are_dropped_and_digits_spelled_out(search: ServiceSearch) -> None:
    assert search.words("俺想问问那个八十岁以上老人的补贴咋领") == [
        "八十岁",
        "以上",
        "老人",
        "补贴",
    ]
    assert search.words("80岁") == ["八十岁"]


# ------------------------------------------------------------------ ranking


def test_misrecognised_names_rank_their_service_first(search: ServiceSearch) -> None:
    assert _top(search, "高龄金铁") == "高龄津贴"
    assert _top(search, "残急证咋办") == "残疾证"
    assert _top(search, "一保缴费") == "医保缴费"
    assert _top(search, "养老金任正") == "养老金资格认证"


def test_whole_sentences(search: ServiceSearch) -> None:
    assert search.decide("俺想问问那个八十岁以上老人的补贴咋领").service.name == "高龄津贴"
    assert search.decide("嗯 那个 我们家80岁老人的补贴 在哪领").service.name == "高龄津贴"


def test_scores_are_between_zero_and_one_best_first(search: ServiceSearch) -> None:
    matches = search.search("老人护理的补贴", limit=10)
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 1 for score in scores)
    assert search.search("高龄津贴")[0].score == 1.0


def test_the_longer_match_wins(search: ServiceSearch) -> None:
    # 老人补贴 (高龄津贴) sits inside 失能老人补贴; 医保 inside 医保报销.
    first, second = search.search("失能老人补帖")[:2]
    assert first.service.name == "失能老人护理补贴"
    assert first.score - second.score >= 0.3
    assert search.decide("一宝报销怎么弄").service.name == "医保报销"


def test_part_of_a_name_is_a_candidate_not_an_answer(search: ServiceSearch) -> None:
    decision = search.decide("医保")
    assert decision.verdict is Verdict.AMBIGUOUS
    assert len(decision.candidates) == 3
    assert all("医保" in m.service.name for m in decision.candidates)
    assert all(m.score < CONFIDENT_SCORE for m in decision.candidates)


@pytest.mark.parametrize(
    "query", ["买火车票", "今天天气咋样", "我想转人工", "办事指南", "我叫王桂兰", "第二个", ""]
)
def test_unrelated_queries_find_nothing(search: ServiceSearch, query: str) -> None:
    assert search.decide(query).verdict is Verdict.NOT_FOUND


def test_search_is_built_once_per_catalogue(tmp_path: Path) -> None:
    assert search_for(SETTINGS.services_file) is search_for(SETTINGS.services_file)
    other = tmp_path / "services.yml"
    other.write_text(SETTINGS.services_file.read_text(encoding="utf-8"), encoding="utf-8")
    assert search_for(other) is not search_for(SETTINGS.services_file)


# ------------------------------------------------------------------ decision


def _service(name: str) -> Service:
    return Service(name, name, (), "e", ("m",), ("s",), "w", "h", "p", None, "f")


def _matches(*scores: float) -> list[Match]:
    return [Match(_service(f"s{i}"), score, f"s{i}") for i, score in enumerate(scores)]


def _names(decision: Decision) -> list[str]:
    return [m.service.name for m in decision.candidates]


def test_nothing_or_too_weak_is_not_found() -> None:
    assert decide([]).verdict is Verdict.NOT_FOUND
    assert decide(_matches(MIN_SCORE - 0.01, 0.1)).verdict is Verdict.NOT_FOUND


def test_a_clear_leader_is_confident() -> None:
    decision = decide(_matches(0.9, 0.7))
    assert decision.verdict is Verdict.CONFIDENT
    assert decision.service.name == "s0"
    assert decide(_matches(CONFIDENT_SCORE)).verdict is Verdict.CONFIDENT


def test_close_scores_ask_which_one() -> None:
    decision = decide(_matches(0.9, 0.85, 0.5, 0.4))
    assert decision.verdict is Verdict.AMBIGUOUS
    assert decision.service is None
    assert _names(decision) == ["s0", "s1", "s2"]


def test_weak_matches_ask_among_those_worth_offering() -> None:
    assert _names(decide(_matches(0.5, 0.4, 0.1))) == ["s0", "s1"]


def test_a_lone_weak_match_is_offered_with_the_next_best() -> None:
    decision = decide(_matches(0.5, 0.1))
    assert decision.verdict is Verdict.AMBIGUOUS
    assert _names(decision) == ["s0", "s1"]
    assert _names(decide(_matches(0.5))) == ["s0"]
