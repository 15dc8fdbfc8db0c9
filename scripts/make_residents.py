"""Generate the synthetic residents the embedded registry is seeded with.

    python -m scripts.make_residents [--count N] [--seed S] [--out PATH]

Writes `actions/data/residents.csv` (read by `actions.registry`). The output depends only
on the count and the seed, so the committed file can be regenerated and compared. Every ID
number is checksum-valid (`nlu.id_card`), its area code matches the district, the birth
year is 1930-1965, and the sex digit matches the name. The three demo residents the
conversation tests and the README rely on are always first, with fixed states.

After them come a few residents with compound surnames (欧阳, 司马 …) and so names of three
and four characters, which the task benchmark (`make bench-tasks`) needs. They are drawn
from an RNG of their own and appended, so the first rows stay the same as before.

Dates of earlier certifications all lie in 2025 or before: the data were made in 2026, and
"not certified this year" stays true for them in any later year.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from nlu.id_card import id_check_char

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "actions" / "data" / "residents.csv"
DEFAULT_COUNT = 240
DEFAULT_SEED = 2026
# The appended residents with compound surnames: their own count and RNG seed.
DEFAULT_COMPOUND_COUNT = 30
COMPOUND_SEED = 20262
COLUMNS = (
    "id_number",
    "name",
    "district",
    "pension_status",
    "certified_this_year",
    "last_certified",
)
LAST_YEAR = 2025
EARLIEST_BIRTH = date(1930, 1, 1)
LATEST_BIRTH = date(1965, 12, 31)

# Area code (first six digits of the ID number) -> district, as residents name it.
DISTRICTS: dict[str, str] = {
    "110101": "东城区", "110102": "西城区", "110105": "朝阳区", "110106": "丰台区",
    "110108": "海淀区", "310101": "黄浦区", "310104": "徐汇区", "310106": "静安区",
    "310115": "浦东新区", "510104": "锦江区", "510105": "青羊区", "510107": "武侯区",
    "440104": "越秀区", "440106": "天河区", "420106": "武昌区",
}  # fmt: skip

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "皇甫", "慕容", "司徒", "东方", "夏侯", "公孙", "令狐",
    "尉迟", "端木", "长孙", "宇文",
)  # fmt: skip
# Given names common for people born 1930-1965.
FEMALE_GIVEN = (
    "桂兰", "秀英", "淑珍", "玉兰", "凤英", "桂芝", "秀兰", "玉珍", "桂英", "秀珍", "凤兰",
    "素珍", "淑芬", "淑华", "兰英", "桂香", "金花", "翠兰", "玉梅", "秀芳", "桂荣", "淑琴",
    "凤琴", "美华", "丽华", "秀云", "玉芬", "桂珍", "芳", "英", "兰", "珍", "霞", "梅", "华",
)  # fmt: skip
MALE_GIVEN = (
    "建国", "国华", "振华", "永福", "长海", "福生", "宝山", "春生", "树林", "德福", "福贵",
    "德明", "建华", "援朝", "解放", "和平", "建军", "国庆", "志刚", "文华", "庆华", "德胜",
    "富贵", "长顺", "金山", "玉林", "守仁", "忠义", "明", "强", "刚", "军", "平", "勇", "山",
)  # fmt: skip


@dataclass(frozen=True)
class ResidentRow:
    """One line of the seed file."""

    id_number: str
    name: str
    district: str
    pension_status: str  # "receiving" or "suspended"
    certified_this_year: bool
    last_certified: date | None  # latest certification before this year

    def as_csv(self) -> tuple[str, ...]:
        last = self.last_certified.isoformat() if self.last_certified else ""
        yes_no = "yes" if self.certified_this_year else "no"
        return (self.id_number, self.name, self.district, self.pension_status, yes_no, last)


DEMO_RESIDENTS = (
    ResidentRow("110105194910010031", "王桂兰", "朝阳区", "receiving", False, date(2025, 10, 8)),
    ResidentRow("310104195203150049", "李建国", "徐汇区", "receiving", True, date(2025, 3, 12)),
    ResidentRow("51010719450208002X", "陈秀英", "武侯区", "receiving", False, date(2025, 9, 21)),
)


def _day_in(year: int, rng: random.Random) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _id_number(rng: random.Random) -> str:
    area = rng.choice(sorted(DISTRICTS))
    born = EARLIEST_BIRTH + timedelta(days=rng.randrange((LATEST_BIRTH - EARLIEST_BIRTH).days + 1))
    first17 = f"{area}{born:%Y%m%d}{rng.randrange(1, 1000):03d}"
    return first17 + id_check_char(first17)


def _certification_state(id_number: str, rng: random.Random) -> tuple[str, bool, date | None]:
    """Mostly receiving; a few suspended for missing last year's certification, and a few
    recently retired who have never certified."""
    roll = rng.random()
    if roll < 0.05:
        return "suspended", False, _day_in(rng.choice((2023, 2024)), rng)
    if int(id_number[6:10]) >= 1964 and roll < 0.35:
        return "receiving", False, None
    return "receiving", roll < 0.45, _day_in(LAST_YEAR, rng)


def make_rows(
    count: int = DEFAULT_COUNT,
    seed: int = DEFAULT_SEED,
    compound_count: int = DEFAULT_COMPOUND_COUNT,
) -> list[ResidentRow]:
    """The seed file's rows: ``_single_surname_rows``, then ``make_compound_rows``."""
    rows = _single_surname_rows(count, seed)
    return rows + make_compound_rows(rows, compound_count)


def _single_surname_rows(count: int, seed: int) -> list[ResidentRow]:
    """The demo residents, then synthetic ones up to ``count``; names and IDs all distinct."""

    def name_for(rng: random.Random, female: bool) -> str:
        return rng.choice(SURNAMES) + rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)

    demo = list(DEMO_RESIDENTS)
    return demo + _distinct_rows(random.Random(seed), count - len(demo), demo, name_for)


def make_compound_rows(
    existing: list[ResidentRow],
    count: int = DEFAULT_COMPOUND_COUNT,
    seed: int = COMPOUND_SEED,
) -> list[ResidentRow]:
    """``count`` residents with compound surnames, distinct from ``existing`` and each other.

    Mostly two-character given names (four characters in all), one in four a single one.
    """

    def name_for(rng: random.Random, female: bool) -> str:
        given = [g for g in (FEMALE_GIVEN if female else MALE_GIVEN) if len(g) == 2]
        if rng.random() < 0.25:
            given = [g for g in (FEMALE_GIVEN if female else MALE_GIVEN) if len(g) == 1]
        return rng.choice(COMPOUND_SURNAMES) + rng.choice(given)

    return _distinct_rows(random.Random(seed), count, existing, name_for)


def _distinct_rows(
    rng: random.Random,
    count: int,
    existing: list[ResidentRow],
    name_for: Callable[[random.Random, bool], str],
) -> list[ResidentRow]:
    """``count`` new residents whose IDs and names differ from ``existing`` and each other.

    The order of the random draws is part of the output: the committed seed file must stay
    what this generator makes.
    """
    ids = {row.id_number for row in existing}
    names = {row.name for row in existing}
    rows: list[ResidentRow] = []
    while len(rows) < count:
        id_number = _id_number(rng)
        female = int(id_number[16]) % 2 == 0  # GB 11643: the 17th digit is even for women
        name = name_for(rng, female)
        if id_number in ids or name in names:
            continue
        ids.add(id_number)
        names.add(name)
        status, this_year, last = _certification_state(id_number, rng)
        rows.append(ResidentRow(id_number, name, DISTRICTS[id_number[:6]], status, this_year, last))
    return rows


def to_csv(rows: list[ResidentRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row.as_csv() for row in rows)
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--compound-count", type=int, default=DEFAULT_COMPOUND_COUNT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    rows = make_rows(args.count, args.seed, args.compound_count)
    args.out.write_text(to_csv(rows), encoding="utf-8")
    certified = sum(row.certified_this_year for row in rows)
    suspended = sum(row.pension_status == "suspended" for row in rows)
    print(
        f"{args.out}: {len(rows)} residents, {certified} certified this year, {suspended} suspended"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
