"""Tests for the jieba user dictionary in nlu/dict."""

from pathlib import Path

import jieba
import pytest

DICT_DIR = Path(__file__).resolve().parents[3] / "nlu" / "dict"

KEPT_WHOLE = [
    ("我要做养老金资格认证", "养老金资格认证"),
    ("社保待遇资格认证怎么办", "社保待遇资格认证"),
    ("刷脸认证在哪里做", "刷脸认证"),
    ("我想申请高龄津贴", "高龄津贴"),
    ("医保缴费多少钱", "医保缴费"),
    ("敬老卡和老年卡", "敬老卡"),
    ("独生子女父母奖励怎么领", "独生子女父母奖励"),
    ("我要转人工", "转人工"),
    ("社区服务中心在哪", "社区服务中心"),
    ("请再说一遍", "再说一遍"),
    ("慢一点说", "慢一点"),
    ("我住朝阳区", "朝阳区"),
]


def test_dictionary_directory_only_holds_dictionaries():
    # JiebaTokenizer loads every file in dictionary_path as a user dictionary
    files = sorted(p.name for p in DICT_DIR.iterdir())
    assert files == ["service_terms.txt"]


def test_dictionary_format():
    lines = (DICT_DIR / "service_terms.txt").read_text(encoding="utf-8").splitlines()
    words = []
    for line in lines:
        word, freq, tag = line.split(" ")
        assert int(freq) > 0 and tag.isalpha()
        words.append(word)
    assert len(words) >= 60
    assert len(words) == len(set(words))
    for required in [
        "养老金资格认证",
        "低保",
        "医保报销",
        "残疾证",
        "居住证",
        "社保卡",
        "养老保险关系转移",
        "退休手续",
        "街道办事处",
        "老年卡",
        "生存认证",
        "资格认证",
        "海淀区",
        "徐汇区",
        "武侯区",
    ]:
        assert required in words


@pytest.mark.parametrize("sentence, term", KEPT_WHOLE)
def test_terms_are_kept_whole(sentence, term):
    jieba.load_userdict(str(DICT_DIR / "service_terms.txt"))
    assert term in list(jieba.cut(sentence))
