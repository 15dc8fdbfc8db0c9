"""Generate valid resident ID numbers (GB 11643-1999) with spoken readings, for test data.

    python -m scripts.make_ids [N] [SEED]

Each line: the ID, then how a speech recogniser might write it down (幺/两/洞/拐/勾/叉).
The checksum comes from `nlu.id_card`, so generated data and the extractor agree;
`tests/engine/nlu/test_training_data.py` checks every ID in the data files.
"""

from __future__ import annotations

import datetime
import random
import sys

from nlu.id_card import id_check_char

AREAS = (
    "110101", "110102", "110105", "110106", "110108",  # 北京 东城 西城 朝阳 丰台 海淀
    "310101", "310104", "310106", "310115",  # 上海 黄浦 徐汇 静安 浦东
    "510104", "510105", "510107",  # 成都 锦江 青羊 武侯
    "440104", "440106", "420106",  # 广州 越秀 天河, 武汉 武昌
)  # fmt: skip
SPOKEN_DIGITS = {
    "0": "零洞", "1": "一幺", "2": "二两", "3": "三", "4": "四",
    "5": "五", "6": "六", "7": "七拐", "8": "八", "9": "九勾", "X": "叉",
}  # fmt: skip


def make_id(rng: random.Random) -> str:
    birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 35))
    first17 = f"{rng.choice(AREAS)}{birth:%Y%m%d}{rng.randrange(1, 1000):03d}"
    return first17 + id_check_char(first17)


def to_spoken(digits: str, rng: random.Random) -> str:
    """Read digits the way a speech recogniser might write them down."""
    return "".join(rng.choice(SPOKEN_DIGITS[c]) for c in digits.upper())


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 10
    rng = random.Random(int(argv[1]) if len(argv) > 1 else 0)
    for _ in range(count):
        id_number = make_id(rng)
        print(id_number, to_spoken(id_number, rng))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
