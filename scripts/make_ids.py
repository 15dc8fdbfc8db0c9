"""Generate and verify Chinese resident ID numbers (GB 11643-1999) for test data.

Usage:
    python scripts/make_ids.py gen [N] [SEED]     # print N valid IDs with Chinese readings
    python scripts/make_ids.py check FILE...      # verify every ID-like number in the files

`check` finds 18-character numbers written with digits or with spoken Chinese
digits (幺/两/洞/拐/勾, 叉/艾克斯 for X, optional spaces or 嗯/呃 fillers between groups) and
reports those whose checksum fails.  Annotated values in Rasa entity JSON
(`"value": "..."`) are checked too.
"""

import datetime
import random
import re
import sys

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK_CHARS = "10X98765432"
AREAS = {
    "110101": "北京东城",
    "110102": "北京西城",
    "110105": "北京朝阳",
    "110106": "北京丰台",
    "110108": "北京海淀",
    "310101": "上海黄浦",
    "310104": "上海徐汇",
    "310106": "上海静安",
    "310115": "上海浦东",
    "510104": "成都锦江",
    "510105": "成都青羊",
    "510107": "成都武侯",
    "440104": "广州越秀",
    "440106": "广州天河",
    "420106": "武汉武昌",
}
SPOKEN = {
    "零": "0",
    "洞": "0",
    "〇": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "拐": "7",
    "八": "8",
    "九": "9",
    "勾": "9",
    "叉": "X",
    "x": "X",
    "X": "X",
}
FILLERS = ("嗯", "呃", "啊", "那个", " ")


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def is_valid(id_number: str) -> bool:
    id_number = id_number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", id_number):
        return False
    try:
        datetime.datetime.strptime(id_number[6:14], "%Y%m%d")
    except ValueError:
        return False
    return check_char(id_number[:17]) == id_number[17]


def make_id(rng: random.Random) -> str:
    area = rng.choice(sorted(AREAS))
    birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 35))
    first17 = f"{area}{birth:%Y%m%d}{rng.randrange(1, 1000):03d}"
    return first17 + check_char(first17)


def to_spoken(digits: str, rng: random.Random) -> str:
    """Read digits the way a speech recogniser might write them down."""
    table = {
        "0": "零洞",
        "1": "一幺",
        "2": "二两",
        "3": "三",
        "4": "四",
        "5": "五",
        "6": "六",
        "7": "七拐",
        "8": "八",
        "9": "九勾",
        "X": "叉",
    }
    return "".join(rng.choice(table[c]) for c in digits.upper())


def normalise(spoken: str) -> str:
    for filler in FILLERS:
        spoken = spoken.replace(filler, "")
    return "".join(SPOKEN.get(c, c) for c in spoken)


def find_candidates(text: str):
    text = text.replace("艾克斯", "X")
    digit_class = "".join(SPOKEN)
    filler = "|".join(re.escape(f) for f in FILLERS)
    pattern = rf"[{digit_class}0-9](?:(?:{filler})*[{digit_class}0-9])+"
    for match in re.finditer(pattern, text):
        value = normalise(match.group())
        if len(value) >= 15 and not re.fullmatch(r"1[3-9]\d{9}", value):
            yield match.group(), value


def check_files(paths) -> int:
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, 1):
                values = {v for _, v in find_candidates(line)}
                values |= set(re.findall(r'"value":\s*"([0-9Xx]{15,})"', line))
                for value in sorted(values):
                    if len(value) == 18 and is_valid(value):
                        continue
                    annotated = '"entity": "id_number"' in line or re.search(
                        rf"\[{value}\]\(id_number\)", line, re.IGNORECASE
                    )
                    if annotated:
                        bad += 1
                        note = "INVALID BUT ANNOTATED AS id_number"
                    else:
                        note = (
                            "invalid, not annotated as id_number (fine if deliberate)"
                        )
                    print(f"{path}:{lineno}: {value} {note}")
    return bad


def main(argv) -> int:
    if len(argv) >= 2 and argv[1] == "check":
        return 1 if check_files(argv[2:]) else 0
    count = int(argv[2]) if len(argv) > 2 else 10
    rng = random.Random(int(argv[3]) if len(argv) > 3 else 0)
    for _ in range(count):
        id_number = make_id(rng)
        print(id_number, AREAS[id_number[:6]], to_spoken(id_number, rng))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
