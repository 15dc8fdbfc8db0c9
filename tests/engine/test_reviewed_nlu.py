"""The gateway's export of reviewed examples (bot/reports/nlu_yaml.py) read back by Rasa's
own NLU reader: the intents and words come out as they went in, awkward characters and
all, so an exported ``data/nlu/reviewed.yml`` trains and validates like the other files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.reports.nlu_yaml import ReviewedExample, render

DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"


def _example(index: int, intent: str, text: str) -> ReviewedExample:
    return ReviewedExample(
        candidate_id=index,
        intent=intent,
        text=text,
        reviewer="zhuguan",
        reviewed_on=date(2026, 12, 1),
        conversation_id=10 + index,
        message_id=100 + index if index % 2 else None,
    )


def test_rasa_reads_the_exported_examples(tmp_path: Path) -> None:
    examples = [
        _example(1, "service_lookup", "那个老年卡咋办 110105********0011"),
        _example(2, "check_auth_status", "我那个认证弄好没"),
        _example(3, "complaint", "- 等: 太久了 # 真是"),
        _example(4, "greet", "你好  呀"),
    ]
    path = tmp_path / "reviewed.yml"
    path.write_text(render(examples), encoding="utf-8")
    data = RasaYAMLReader().read(str(path))
    assert [(m.get("intent"), m.get("text")) for m in data.training_examples] == [
        ("service_lookup", "那个老年卡咋办 110105********0011"),
        ("check_auth_status", "我那个认证弄好没"),
        ("complaint", "- 等: 太久了 # 真是"),
        ("greet", "你好 呀"),
    ]
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    known = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    assert {m.get("intent") for m in data.training_examples} <= known
    assert render(examples).count("# reviewer: zhuguan; date: 2026-12-01;") == 4
