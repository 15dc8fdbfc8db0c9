"""scripts/bench_load.py: the load generator's residents and its bounds (no stack needed).

The real run is `make bench-load`; here, that a resident answers what the bot asks the
way the benchmark promises, that a conversation ends, and that it talks to loopback only.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from scripts import bench_load
from scripts.bench_load import LevelResult, Resident, Script

RESIDENT = Resident("110105194910010031", "王桂兰", "朝阳区")


def test_an_authentication_answers_each_question_then_ends() -> None:
    script = Script("auth", "我要做养老金认证", RESIDENT, said=1)
    assert script.answer(["好的。请告诉我您的姓名。"]) == "我叫王桂兰"
    assert script.answer(["请说您的身份证号。"]) == RESIDENT.id_number
    assert script.answer(["我听到的号码是110105…0031，对吗？"]) == "对"
    assert script.answer(["认证成功了！下次请在2027年10月8日前认证。"]) is None


def test_a_centre_question_names_the_district_and_small_talk_stops() -> None:
    center = Script("center", "附近的社区服务中心在哪", RESIDENT, said=1)
    assert center.answer(["您在哪个区？"]) == "朝阳区"
    talk = Script("smalltalk", "你好", RESIDENT)
    said = []
    while (text := talk.answer(["您好！"])) is not None:
        said.append(text)
        talk.said += 1
    assert 1 <= len(said) <= 3


def test_scripts_mix_every_task_and_use_registry_residents() -> None:
    rng = random.Random(1)
    people = bench_load.residents()
    scripts = [bench_load.make_script(rng, people) for _ in range(200)]
    assert {s.task for s in scripts} == set(bench_load.TASK_WEIGHTS)
    assert all(s.resident in people for s in scripts)


def test_latency_percentiles_are_measured_values() -> None:
    result = LevelResult(3, latencies_ms=[30.0, 10.0, 20.0], elapsed_s=2.0)
    assert result.percentile_ms(0.5) == 20.0
    assert result.percentile_ms(0.95) == 30.0
    assert result.turns_per_s == 1.5
    assert LevelResult(1).percentile_ms(0.5) is None


def test_talks_to_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        asyncio.run(bench_load.run_level("http://example.org:8000", 1, "x"))
    assert bench_load.MAX_CONCURRENCY == 100
