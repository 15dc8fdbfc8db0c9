"""Colloquial names: what people call a service, said in a whole sentence, finds it.

The sentences here are written for this test, not copied from the catalogue: each one wraps
a colloquial name (食堂, 老人证, 农保 …) in the words around it (吃饭, 报名, 丢了, 在哪),
so an alias alone does not pass it. Like the held-out queries, none of them may be an alias.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from actions.service_search import ServiceSearch, Verdict, search_for
from actions.settings import ActionSettings

SETTINGS = ActionSettings.from_env()
ROOT = Path(__file__).resolve().parents[3]
HELD_OUT = ROOT / "tests" / "data" / "service_queries.yml"
_SERVICE_ENTITY = re.compile(r"\[([^\]]+)\]\(service\)")

COLLOQUIAL = [
    ("老年食堂吃饭怎么报名", "meal_assistance"),
    ("食堂吃饭怎么报名", "meal_assistance"),
    ("俺家老头子想去那个饭堂吃个饭 要不要报名", "meal_assistance"),
    ("小区助餐点一顿饭多少钱", "meal_assistance"),
    ("我想办个老年证", "senior_card"),
    ("老人证丢了咋补", "senior_card"),
    ("老人卡坐地铁要钱不", "senior_card"),
    ("城市低保要啥条件", "minimum_living_allowance"),
    ("农村低保咋弄", "minimum_living_allowance"),
    ("吃救济金的咋申请", "minimum_living_allowance"),
    ("我想认证养老金 在哪弄", "pension_certification_help"),
    ("每年的养老金刷脸咋弄", "pension_certification_help"),
    ("暂住证过期了咋办", "residence_permit"),
    ("暂住登记去派出所吗", "residence_permit"),
    ("残疾人证年审在哪", "disability_certificate"),
    ("评残疾等级要去医院不", "disability_certificate"),
    ("城镇居民医保续费去哪交", "medical_insurance_payment"),
    ("公积金能取吗", "housing_fund_withdrawal"),
    ("公积金咋取出来", "housing_fund_withdrawal"),
    ("独生子女奖励金啥时候发", "only_child_reward"),
    ("殡葬补贴咋申请", "funeral_subsidy"),
    ("老人走了 殡葬补贴找谁", "funeral_subsidy"),
    ("居家养老上门服务能派人来不", "home_care"),
    ("居家养老服务站能上门做饭不", "home_care"),
    ("适老化怎么申请", "elderly_home_modification"),
    ("适老化改造政府补多少钱", "elderly_home_modification"),
    ("失能护理补贴多少钱", "disabled_elderly_care_subsidy"),
    ("失能老人护理费咋领", "disabled_elderly_care_subsidy"),
    ("高龄补助多少钱", "elderly_allowance"),
    ("长寿保健金咋领", "elderly_allowance"),
    ("社保转移接续咋办", "pension_transfer"),
    ("退休证啥时候能拿到", "retirement"),
    ("门诊报销要啥票", "medical_reimbursement"),
    ("医保卡掉了补一张", "social_security_card_replacement"),
    ("门慢咋申请", "chronic_disease"),
    ("临时救济金咋申请", "temporary_assistance"),
    ("孤寡老人补贴找谁", "extreme_poverty_support"),
    ("廉租房咋排队", "public_rental_housing"),
    ("残疾人两补啥时候发", "disability_two_subsidies"),
    ("下岗证在哪办", "unemployment_registration"),
    ("个人缴社保去哪交", "flexible_employment_insurance"),
    ("农保一年交多少", "resident_pension_insurance"),
    ("去外地看病要医保备案吗", "medical_out_of_town"),
    ("我想办个长护", "long_term_care_insurance"),
    ("电子社保怎么领", "e_social_security_card"),
    ("电子医保咋弄", "medical_insurance_e_voucher"),
    ("家庭医师上门不", "family_doctor"),
    ("老人免费体检在哪做", "elderly_health_checkup"),
    ("大病补助能给多少", "medical_assistance"),
    ("住老人院一个月多少钱", "nursing_home"),
    ("复员军人补贴咋领", "veterans_benefits"),
    ("取暖费补贴有没有", "heating_subsidy"),
    ("养老券在哪领", "poor_elderly_service_subsidy"),
    ("老人失能鉴定去哪做", "elderly_ability_assessment"),
    ("户口转移要啥材料", "hukou_transfer"),
    ("身份证掉了咋整", "id_card_renewal"),
    ("失业待遇能领几个月", "unemployment_benefit"),
    ("人走了销户咋办", "household_deregistration"),
    ("领结婚证要带啥", "marriage_registration"),
    ("法援在哪申请", "legal_aid"),
    ("社保缴费凭证在哪打", "insurance_certificate"),
    ("申请轮椅要啥证明", "assistive_devices"),
    ("生育金能领多少", "maternity_allowance"),
    ("工伤报销找谁", "work_injury"),
    ("少儿医保去哪办", "newborn_insurance"),
]


@pytest.fixture(scope="module")
def search() -> ServiceSearch:
    return search_for(SETTINGS.services_file)


def test_the_sentences_are_neither_aliases_nor_held_out(search: ServiceSearch) -> None:
    terms = {term for service in search.services for term in service.terms}
    held_out = {q["text"] for q in yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))["queries"]}
    sentences = {text for text, _ in COLLOQUIAL}
    assert not sentences & terms
    assert not sentences & held_out
    assert {service for _, service in COLLOQUIAL} <= {s.id for s in search.services}


@pytest.mark.parametrize(("query", "service_id"), COLLOQUIAL)
def test_a_colloquial_name_in_a_sentence_finds_its_service(
    search: ServiceSearch, query: str, service_id: str
) -> None:
    decision = search.decide(query)
    assert decision.verdict is Verdict.CONFIDENT, [
        (m.service.id, m.score) for m in decision.candidates
    ]
    assert decision.service.id == service_id


def test_a_name_two_services_share_asks_which_one(search: ServiceSearch) -> None:
    # 护理补贴 is both the elderly one and the disabled one: asking beats guessing.
    decision = search.decide("护理补贴咋领")
    assert decision.verdict is Verdict.AMBIGUOUS
    assert {m.service.id for m in decision.candidates} >= {
        "disabled_elderly_care_subsidy",
        "disability_two_subsidies",
    }


def test_every_service_name_the_nlu_is_trained_on_is_found(search: ServiceSearch) -> None:
    """A ``service`` entity DIET learned to extract leads to an answer or a choice."""
    values = set()
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            values |= set(_SERVICE_ENTITY.findall(block.get("examples") or ""))
    assert len(values) > 50
    assert [v for v in sorted(values) if search.decide(v).verdict is Verdict.NOT_FOUND] == []
