"""Names read whole, the way residents say them and recognisers write them."""

from __future__ import annotations

import pytest

from nlu.name_sound import NameMatch, match_name, sounds_alike
from nlu.name_words import describe_name
from nlu.noise import is_noise
from nlu.person_names import complete_name, name_in_sentence, read_name
from nlu.surnames import split_surname


@pytest.mark.parametrize(
    ("answer", "name"),
    [
        ("孙文华", "孙文华"),
        ("白文华", "白文华"),
        ("我叫孙文华", "孙文华"),
        ("余永福", "余永福"),
        ("吴霞", "吴霞"),
        ("邓强", "邓强"),
        ("我是吴霞啊", "吴霞"),
        ("欧阳秀英", "欧阳秀英"),
        ("我叫司马光明", "司马光明"),
        ("诸葛明", "诸葛明"),
        ("姓王叫王桂兰", "王桂兰"),
        ("姓王叫桂兰", "王桂兰"),
        ("姓欧阳，叫秀英", "欧阳秀英"),
        ("免贵姓徐 徐长林", "徐长林"),
        ("名字是刘德厚", "刘德厚"),
        ("嗯 我叫那个 黄美华", "黄美华"),
        ("王桂兰就是我", "王桂兰"),
        ("孙 文华", "孙文华"),
        ("木子李，建国", "李建国"),
        ("木子李建国", "李建国"),
        ("我姓李，木子李，叫李建国", "李建国"),
        ("弓长张 张玉珍", "张玉珍"),
        ("我姓张 弓长张 名字叫玉珍", "张玉珍"),
        ("耳东陈，秀英", "陈秀英"),
        ("口天吴霞", "吴霞"),
        ("立早章，章明", "章明"),
        ("王贵兰，桂花的桂", "王桂兰"),
        ("我叫王桂兰，桂花的桂，兰花的兰", "王桂兰"),
    ],
)
def test_names_are_read_whole(answer: str, name: str) -> None:
    reading = read_name(answer)
    assert reading is not None, answer
    assert reading.name == name


@pytest.mark.parametrize(
    "answer",
    [
        *("呃那个那个就是说", "再说一遍", "取消", "转人工", "高龄津贴", "我要认证", "对", "是的"),
        *("不对", "那个那个", "好的好的", "哈哈", "我是王桂兰的女儿", "王", "慢一点", "帮助"),
        *("金水区", "朝阳区", "江西省"),
    ],
)
def test_what_is_not_a_name_is_not_read_as_one(answer: str) -> None:
    assert read_name(answer) is None


def test_spelt_characters_are_kept() -> None:
    reading = read_name("我叫王桂兰，桂花的桂，兰花的兰")
    assert reading is not None and reading.spelt == {"桂", "兰"}


def test_names_said_in_passing_and_partial_tags_get_their_surname() -> None:
    assert name_in_sentence("我叫孙文华，来认证的") == "孙文华"
    assert name_in_sentence("我是来认证的") is None
    assert complete_name("文华", "我叫孙文华") == "孙文华"
    assert complete_name("永福", "余永福") == "余永福"
    assert complete_name("阳秀英", "我是欧阳秀英") == "欧阳秀英"
    assert complete_name("张玉珍", "帮我老伴张玉珍做认证") == "张玉珍"


def test_compound_surnames_come_first() -> None:
    assert split_surname("欧阳秀英") == ("欧阳", "秀英")
    assert split_surname("上官云") == ("上官", "云")
    assert split_surname("吴霞") == ("吴", "霞")
    assert split_surname("认证") is None


def test_names_match_by_characters_then_by_sound() -> None:
    assert match_name("王桂兰", "王桂兰") is NameMatch.EXACT
    assert match_name("王桂兰", "王贵兰") is NameMatch.BY_SOUND
    assert match_name("卢美华", "卢美花") is NameMatch.BY_SOUND
    assert match_name("李娜", "李拉") is NameMatch.BY_SOUND  # n/l, as a southern speaker says it
    assert match_name("王桂兰", "王建国") is NameMatch.NO
    assert match_name("王桂兰", "王桂") is NameMatch.NO
    assert sounds_alike("单丽", "善丽")  # 单 as a surname is shan


def test_registered_names_are_described_in_words() -> None:
    assert describe_name("王桂兰", "王贵兰") == "桂花的桂，兰花的兰"
    assert describe_name("李建国", "黎建国") == "木子李，建设的建，国家的国"
    assert describe_name("欧阳秀英", "欧阳秀英").startswith("优秀的秀")


@pytest.mark.parametrize(
    "text", ["呃那个那个就是说", "嗯嗯啊", "就是那个那个嘛", "哎呀", "这个那个", "啊？"]
)
def test_filler_is_noise(text: str) -> None:
    assert is_noise(text)


@pytest.mark.parametrize(
    "text",
    [
        "对",
        "好",
        "不对",
        "认证",
        "王桂兰",
        "幺幺零",
        "吴霞",
        "取消",
        "高龄津贴",
        "中 就这样",
        "嗯",
        "嗯嗯",
    ],
)
def test_answers_are_not_noise(text: str) -> None:
    assert not is_noise(text)
