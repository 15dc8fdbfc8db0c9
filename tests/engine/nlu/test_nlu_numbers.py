"""Tests for nlu.numbers: spoken digits -> plain digits, with exact offsets."""

import pytest

from nlu.numbers import NumberRun, find_number_runs, normalize_numbers


def only_run(text, min_digits=4):
    runs = find_number_runs(text, min_digits=min_digits)
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.parametrize(
    "spoken, digits",
    [
        ("幺三八", "138"),
        ("洞洞拐", "007"),
        ("两零两四", "2024"),
        ("勾勾幺", "991"),
        ("零〇一二三四五六七八九", "00123456789"),
        ("１２３４", "1234"),  # full-width digits
        ("13八1234五678", "13812345678"),  # ASCII mixed with characters
        ("幺3８洞", "1380"),
    ],
)
def test_digit_readings(spoken, digits):
    run = only_run(spoken, min_digits=3)
    assert run.digits == digits
    assert (run.start, run.end) == (0, len(spoken))


@pytest.mark.parametrize("x", ["叉", "艾克斯", "x", "X", "ｘ"])
def test_x_readings_end_an_id(x):
    text = f"号码五幺零幺零七一九四五零二零八零零二{x}好的"
    run = only_run(text)
    assert run.digits == "51010719450208002X"
    assert text[run.start : run.end] == f"五幺零幺零七一九四五零二零八零零二{x}"


def test_x_is_not_a_digit_after_a_short_run():
    assert find_number_runs("一二三四叉") == [NumberRun(0, 4, "1234")]
    assert find_number_runs("1234x") == [NumberRun(0, 4, "1234")]


def test_latin_x_inside_a_word_is_not_a_check_character():
    run = only_run("51010719450208002xbox")
    assert run.digits == "51010719450208002"


@pytest.mark.parametrize(
    "text, expected_digits",
    [
        ("幺三八 一二三四 五六七八", "13812345678"),
        ("138，1234，5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("一三八、一二三四、五六七八", "13812345678"),
        ("一三八 嗯 一二三四 呃 五六七八", "13812345678"),
        ("一三八那个一二三四就是五六七八", "13812345678"),
        ("一三八然后一二三四啊五六七八", "13812345678"),
        ("一三八是一二三四.五六七八", "13812345678"),
    ],
)
def test_fillers_between_groups_are_bridged(text, expected_digits):
    run = only_run(text)
    assert run.digits == expected_digits
    assert (run.start, run.end) == (0, len(text))


def test_offsets_cover_the_spoken_span_but_not_edge_fillers():
    text = "我的身份证号是幺幺零幺零五 嗯 一九四九一零零一零零三幺 嗯，对"
    run = only_run(text)
    assert run.digits == "110105194910010031"
    assert text[run.start : run.end] == "幺幺零幺零五 嗯 一九四九一零零一零零三幺"
    # the 是 before the number is a filler word, but edges are never covered
    assert text[run.start - 1] == "是"


@pytest.mark.parametrize(
    "text",
    ["说慢一点", "我有两个孩子", "第一次来", "请等一下", "一点也听不清", "再说一遍", "两三天"],
)
def test_short_runs_and_words_are_untouched(text):
    assert find_number_runs(text) == []
    assert normalize_numbers(text) == text


@pytest.mark.parametrize("word", ["两", "拐", "勾", "洞", "幺"])
def test_colloquial_digit_alone_is_a_word(word):
    assert find_number_runs(f"前面{word}弯", min_digits=1) == []
    assert find_number_runs("一", min_digits=1) == [NumberRun(0, 1, "1")]


def test_trailing_quantifier_yi_is_not_a_digit():
    text = "我的号码是一三八一二三四五六七八一下"
    run = only_run(text)
    assert run.digits == "13812345678"
    assert normalize_numbers(text) == "我的号码是13812345678一下"


def test_normalize_numbers_replaces_each_run():
    text = "电话一三八 一二三四 五六七八，身份证幺幺零幺零五一九四九一零零一零零三幺，慢一点"
    assert normalize_numbers(text) == ("电话13812345678，身份证110105194910010031，慢一点")


def test_min_digits_controls_what_counts():
    assert find_number_runs("一二三", min_digits=4) == []
    assert find_number_runs("一二三", min_digits=3) == [NumberRun(0, 3, "123")]


def test_pauses_and_sub_runs_keep_original_offsets():
    text = "幺幺零幺零五 一九四九"
    run = only_run(text)
    assert run.pause_indices() == [6]
    tail = run.sub_run(6, 10)
    assert tail.digits == "1949"
    assert text[tail.start : tail.end] == "一九四九"


def test_empty_text():
    assert find_number_runs("") == []
    assert normalize_numbers("") == ""
