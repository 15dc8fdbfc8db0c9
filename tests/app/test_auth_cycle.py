"""The authentication cycle through the real stack (issue 13 item 1).

Due dates for a rolling-12-month region (徐汇区, 朝阳区) and a calendar-year one (锦江区,
the demo settings), and a suspended resident told about 补发 and re-activated by
authenticating. Residents from `actions/data/residents.csv`; a certification "this year"
is seeded on min(today, 15 March). Needs the trained model (`make test`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest

from actions.cycle import one_year_after
from actions.speech import spoken_date
from scripts.stack import Stack

from .real_stack import running_stack, say, texts

TODAY = date.today()
SEEDED_THIS_YEAR = min(TODAY, date(TODAY.year, 3, 15))
LI_JIANGUO = "310104195203150049"  # 徐汇区, certified this year: rolling 12 months
JIN_DEMING = "510104194808252956"  # 锦江区, certified this year: calendar year
XU_JINSHAN = ("许金山", "510104193608305334")  # 锦江区, suspended, last certified in 2023


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


def turn(stack: Stack, sender: str, text: str) -> str:
    return "".join(texts(say(stack, sender, text)))


def ask_status(stack: Stack, question: str, id_number: str) -> str:
    sender = f"cycle-{uuid.uuid4().hex[:8]}"
    asked = turn(stack, sender, question)
    assert "身份证" in asked, asked
    # The answer itself; a rating question (issue 12) may follow it as a reply of its own.
    return texts(say(stack, sender, id_number))[0]


@pytest.mark.parametrize("question", ["认证什么时候到期", "下次什么时候认证"])
def test_rolling_region_says_twelve_months_after_the_last_authentication(
    stack: Stack, question: str
) -> None:
    answer = ask_status(stack, question, LI_JIANGUO)
    due = spoken_date(one_year_after(SEEDED_THIS_YEAR))
    assert answer == f"您已经认证了，下次请在{due}前认证。", answer


def test_calendar_year_region_says_the_end_of_next_year(stack: Stack) -> None:
    answer = ask_status(stack, "我的认证什么时候到期", JIN_DEMING)
    assert answer == f"您已经认证了，下次请在{TODAY.year + 1}年12月31日前认证。", answer


def test_early_reauthentication_is_not_needed_yet(stack: Stack) -> None:
    sender = f"cycle-{uuid.uuid4().hex[:8]}"
    turn(stack, sender, "我要做养老金认证")
    turn(stack, sender, "金德明")
    assert "对吗" in turn(stack, sender, JIN_DEMING)
    answer = turn(stack, sender, "对")
    assert "已经认证过了，现在还不用认证" in answer, answer
    assert f"下次请在{TODAY.year + 1}年12月31日前认证" in answer, answer


def test_a_suspended_resident_hears_about_back_pay_and_is_reactivated(stack: Stack) -> None:
    name, id_number = XU_JINSHAN
    before = ask_status(stack, "我还需要认证吗", id_number)
    assert "暂停发放" in before and "补发" in before, before

    sender = f"cycle-{uuid.uuid4().hex[:8]}"
    turn(stack, sender, "我要做养老金认证")
    turn(stack, sender, name)
    assert "对吗" in turn(stack, sender, id_number)
    done = turn(stack, sender, "对")
    assert done.startswith("认证成功了！养老金下个月恢复发放，停发的月份会补发。"), done
    # 锦江区 counts calendar years: the next one is due by the end of next year.
    assert f"下次请在{TODAY.year + 1}年12月31日前认证" in done, done

    after = ask_status(stack, "认证什么时候到期", id_number)
    assert after == f"您已经认证了，下次请在{TODAY.year + 1}年12月31日前认证。", after
