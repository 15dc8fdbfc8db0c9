from __future__ import annotations

from actions.id_groups import correct_group, readback

WANG = "110105194910010031"


def test_read_back_in_three_groups():
    assert readback(WANG) == "110105，19491001，0031"
    assert readback("51010719450208002X") == "510107，19450208，002X"


def test_a_group_is_found_by_its_length():
    assert correct_group(WANG, "是一一零一零八") == "110108194910010031"
    assert correct_group(WANG, "一九五零零一零一") == "110105195001010031"
    assert correct_group(WANG, "零零四二") == "110105194910010042"


def test_hint_words_pick_the_group():
    assert correct_group(WANG, "后四位是零零四二") == "110105194910010042"
    assert correct_group(WANG, "出生日期是19500101") == "110105195001010031"


def test_no_group_sized_number_means_no_correction():
    assert correct_group(WANG, "不对") is None
    assert correct_group(WANG, "一二三四五") is None
