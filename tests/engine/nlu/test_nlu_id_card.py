"""Tests for nlu.id_card: GB 11643-1999 checks and masking."""

import datetime

import pytest

from nlu.id_card import (
    IdProblem,
    birth_date_of,
    id_check_char,
    is_valid_id_number,
    mask_id_number,
    mask_phone_number,
    validate_id_number,
)

VALID_IDS = ["110105194910010031", "310104195203150049", "51010719450208002X"]


@pytest.mark.parametrize("id_number", VALID_IDS)
def test_demo_ids_are_valid(id_number):
    assert validate_id_number(id_number) is None
    assert is_valid_id_number(id_number)
    assert id_check_char(id_number[:17]) == id_number[17]


def test_lowercase_x_is_accepted():
    assert validate_id_number("51010719450208002x") is None


def test_check_char_rejects_bad_input():
    with pytest.raises(ValueError):
        id_check_char("1234")
    with pytest.raises(ValueError):
        id_check_char("11010519491001003X")


@pytest.mark.parametrize(
    "value, problem",
    [
        ("110105194910010032", IdProblem.CHECKSUM),  # last digit wrong
        ("110105194910010013", IdProblem.CHECKSUM),  # last two digits swapped
        ("11010519491001003", IdProblem.LENGTH),  # 17 digits
        ("1101051949100100311", IdProblem.LENGTH),  # 19 digits
        ("", IdProblem.LENGTH),
        ("11010519491001X031", IdProblem.FORMAT),
        ("110105194902310031", IdProblem.BIRTH_DATE),  # 31 February
        ("110105189912310031", IdProblem.BIRTH_DATE),  # before 1900
    ],
)
def test_problems(value, problem):
    assert validate_id_number(value) == problem
    assert not is_valid_id_number(value)


def test_problem_codes_are_plain_strings():
    assert IdProblem.CHECKSUM == "checksum"
    assert {p.value for p in IdProblem} >= {"length", "checksum", "birth_date"}


def test_impossible_date_is_reported_even_with_matching_check_char():
    first17 = "11010519490231003"
    assert validate_id_number(first17 + id_check_char(first17)) == IdProblem.BIRTH_DATE


def test_birth_date_in_the_future_is_rejected():
    first17 = "11010520300101003"
    value = first17 + id_check_char(first17)
    assert validate_id_number(value, today=datetime.date(2025, 1, 1)) == (IdProblem.BIRTH_DATE)
    assert validate_id_number(value, today=datetime.date(2031, 1, 1)) is None


def test_birth_date_of():
    assert birth_date_of("110105194910010031") == datetime.date(1949, 10, 1)
    with pytest.raises(ValueError):
        birth_date_of("110105194902310031")


def test_masking():
    assert mask_id_number("110105194910010031") == "110105********0031"
    assert mask_id_number("51010719450208002x") == "510107********002X"
    assert mask_phone_number("13812345678") == "138****5678"
    # too short to mask partially: hide everything rather than leak
    assert mask_phone_number("1234") == "****"
