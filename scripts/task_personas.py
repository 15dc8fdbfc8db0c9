"""Simulated residents for the task benchmark (`make bench-tasks`), made from the registry.

Each persona is one resident of ``actions/data/residents.csv`` with one task (社保认证, the
status question, a service question, the nearest service centre) and the ways a real
caller differs from the training data: how the name is said (我叫…, 木子李…), a homophone
a speech recogniser writes instead of a given-name character (王桂兰 → 王贵兰), the ID
number typed, spoken (幺 两 洞 …) or in 6-8-4 groups with fillers, a wrong group
corrected at the read-back, commands (再说一遍, 慢一点) and noise in the middle.

Everything is drawn from one seeded RNG, so the same seed gives the same personas in any
environment. Homophones need ``pypinyin``, which the engine environment has; it is
imported only when personas are made, so the module imports anywhere.

Each resident is used by at most one persona: an authentication changes the registry,
and a second persona of the same resident would see that change.
"""

from __future__ import annotations

import csv
import enum
import functools
import importlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # no stubs in the app environment

from nlu.commands import COMMAND_WORDS
from nlu.id_card import id_check_char, mask_id_number

ROOT = Path(__file__).resolve().parent.parent
RESIDENTS_FILE = ROOT / "actions" / "data" / "residents.csv"
SERVICES_FILE = ROOT / "actions" / "data" / "services.yml"
CENTERS_FILE = ROOT / "actions" / "data" / "service_centers.yml"
DEFAULT_SEED = 10_06
DEFAULT_COUNT = 130
#: Residents before the appended compound-surname ones; only these exist in the baseline.
ORIGINAL_RESIDENTS = 240
#: The demo residents (王桂兰 …) come first; the training data and README use them.
DEMO_RESIDENTS = 3


class Task(str, enum.Enum):  # noqa: UP042 - the engine env is Python 3.10: no StrEnum
    AUTH = "auth"  # 社保认证: name, ID, confirm the read-back
    STATUS = "status"  # "我还要认证吗": ID, then done or not done
    SERVICE = "service"  # a service question in colloquial words
    CENTER = "center"  # the service centre of a district


TASK_WEIGHTS: dict[Task, float] = {
    Task.AUTH: 0.45,
    Task.STATUS: 0.2,
    Task.SERVICE: 0.2,
    Task.CENTER: 0.15,
}

# --- what residents say -------------------------------------------------------------------
#: Fixed words every user is told to use (README: they work at any moment) or a plain
#: yes/no. They are meant to be in the training data, so the disjointness test skips them.
YES = "对"
NO_HUMAN = "不用"
REPEAT = COMMAND_WORDS["repeat"]
SLOWER = COMMAND_WORDS["slower"]
FIXED_WORDS = frozenset({YES, NO_HUMAN, REPEAT, SLOWER})

OPENINGS: dict[Task, tuple[str, ...]] = {
    Task.AUTH: (
        "我来做一下养老金的认证",
        "帮我弄个社保认证吧",
        "今年的退休金认证我还没弄呢",
        "社区让我来认证一下养老金",
        "我想办那个领养老金要做的认证",
        "我是来做资格认证的",
        "给我办一下社保待遇认证",
    ),
    Task.STATUS: (
        "我还要认证吗",
        "认证办好了没有",
        "我今年认证过了没有啊",
        "帮我查查我认证了没",
        "我那个养老金认证做了没有",
        "我是不是已经认证过了",
    ),
    Task.CENTER: (
        "服务中心在什么地方",
        "我想找个办事的服务中心",
        "离我近的服务中心在哪儿",
        "办事大厅怎么走",
        "你们服务中心在哪",
    ),
}
#: A service question: a colloquial name of the service (one of its aliases) in a frame.
SERVICE_FRAMES = (
    "{alias}咋弄啊",
    "我想问问{alias}的事",
    "{alias}要带点啥东西",
    "那个{alias}在哪儿办呀",
    "{alias}得怎么申请",
    "跟你打听一下{alias}",
)
DISTRICT_FRAMES = ("我住{district}", "{short}那边", "在{short}", "{district}那块儿")
#: The first name answer. Later asks get the bare name (as the recogniser writes it).
NAME_FRAMES: dict[str, str] = {
    "bare": "{name}",
    "jiao": "我叫{name}",
    "shi": "我是{name}",
    "mingzi": "名字是{name}",
    "xing": "姓{surname}叫{name}",
    "describe": "我姓{surname} {description} 叫{name}",
}
#: How people spell a surname aloud so it is not confused with a homophone.
SURNAME_DESCRIPTIONS: dict[str, str] = {
    "李": "木子李",
    "张": "弓长张",
    "陈": "耳东陈",
    "吴": "口天吴",
    "章": "立早章",
    "杨": "木易杨",
    "胡": "古月胡",
    "许": "言午许",
    "徐": "双人徐",
    "王": "三横王",
}
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "皇甫", "慕容", "司徒", "东方", "夏侯", "公孙", "令狐",
    "尉迟", "端木", "长孙", "宇文",
)  # fmt: skip
NOISE = ("嗯…那个…", "呃就是说", "那个…嗯", "呃…等一下啊")
FILLERS = ("嗯", "那个", "就是")
#: Spoken digits: the plain reading and the radio-operator one (幺 两 洞 拐 勾).
DIGIT_WORDS: dict[str, tuple[str, str]] = {
    "0": ("零", "洞"),
    "1": ("一", "幺"),
    "2": ("二", "两"),
    "3": ("三", "三"),
    "4": ("四", "四"),
    "5": ("五", "五"),
    "6": ("六", "六"),
    "7": ("七", "拐"),
    "8": ("八", "八"),
    "9": ("九", "勾"),
    "X": ("叉", "叉"),
}
ID_GROUPS = (slice(0, 6), slice(6, 14), slice(14, 18))


class IdStyle(str, enum.Enum):  # noqa: UP042 - Python 3.10 too
    TYPED = "typed"  # 110105194910010031
    SPOKEN = "spoken"  # 幺幺洞幺洞五…
    GROUPED = "grouped"  # 6-8-4 groups with fillers between them


@dataclass(frozen=True)
class Utterance:
    """What the resident says, and the same with ID numbers masked for the report."""

    text: str
    shown: str


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    aliases: tuple[str, ...]
    evidence: tuple[str, ...]  # name, steps and distinctive materials: any of them = answered


@dataclass(frozen=True)
class Persona:
    key: str
    task: Task
    resident_name: str  # as registered: what the resident means
    id_number: str
    district: str
    original: bool  # the resident is among the first 240, so exists in the baseline too
    heard_name: str  # the name as the recogniser writes it (a homophone, or the name)
    name_style: str
    id_style: IdStyle
    radio_digits: bool  # 幺 两 洞 instead of 一 二 零
    opening: str
    first_name_answer: str
    id_answer: Utterance
    wrong_id_answer: Utterance | None = None  # said first; corrected at the read-back
    noise_before: str | None = None  # before the opening
    noise_within: str | None = None  # before the second answer
    command: str | None = None  # 再说一遍 / 慢一点 before the first answer
    service: Service | None = None
    center_name: str | None = None
    district_answer: str | None = None
    features: tuple[str, ...] = field(default=())

    @property
    def homophone(self) -> bool:
        return self.heard_name != self.resident_name

    def free_utterances(self) -> Iterator[str]:
        """Everything this persona may say except the fixed words (``FIXED_WORDS``)."""
        yield self.opening
        yield self.first_name_answer
        yield self.heard_name
        yield self.id_answer.text
        yield correction(self.id_answer).text
        if self.wrong_id_answer is not None:
            yield self.wrong_id_answer.text
        for extra in (self.noise_before, self.noise_within, self.district_answer):
            if extra is not None:
                yield extra


def correction(right: Utterance) -> Utterance:
    """The answer to a wrong read-back: no, and the whole number again."""
    return Utterance(f"不对 是{right.text}", f"不对 是{right.shown}")


# --- ID numbers ---------------------------------------------------------------------------


def _digits_said(digits: str, style: IdStyle, radio: bool) -> str:
    if style is IdStyle.TYPED:
        return digits
    return "".join(DIGIT_WORDS[d][1 if radio else 0] for d in digits)


def id_utterance(id_number: str, style: IdStyle, radio: bool, rng: random.Random) -> Utterance:
    """The ID number as the persona says it; ``shown`` has it masked."""
    masked = mask_id_number(id_number)
    if style is not IdStyle.GROUPED:
        return Utterance(_digits_said(id_number, style, radio), masked)
    spoken = rng.random() < 0.6
    groups = [
        _digits_said(id_number[g], IdStyle.SPOKEN if spoken else IdStyle.TYPED, radio)
        for g in ID_GROUPS
    ]
    fillers = [rng.choice(FILLERS), rng.choice(FILLERS)]
    text = f"{groups[0]} {fillers[0]} {groups[1]} {fillers[1]} {groups[2]}"
    return Utterance(text, f"{masked} (6-8-4, {fillers[0]}/{fillers[1]})")


def wrong_last_group(id_number: str) -> str:
    """A valid ID that differs only in the last group (sequence number and check)."""
    sequence = int(id_number[14:17])
    first17 = f"{id_number[:14]}{(sequence % 999) + 1:03d}"
    return first17 + id_check_char(first17)


# --- names --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _common_characters_by_sound() -> dict[str, tuple[str, ...]]:
    """Toneless pinyin → the 3,755 most common characters (GB 2312 level 1) with it."""
    pypinyin = importlib.import_module("pypinyin")
    by_sound: dict[str, list[str]] = {}
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                char = bytes((high, low)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            sound = pypinyin.lazy_pinyin(char, style=pypinyin.Style.NORMAL)[0]
            by_sound.setdefault(sound, []).append(char)
    return {sound: tuple(chars) for sound, chars in by_sound.items()}


def _sound(char: str) -> str:
    pypinyin = importlib.import_module("pypinyin")
    return str(pypinyin.lazy_pinyin(char, style=pypinyin.Style.NORMAL)[0])


def split_name(name: str) -> tuple[str, str]:
    """Surname and given name: compound surnames are two characters."""
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]
    return surname, name[len(surname) :]


def homophone(name: str, taken: set[str], rng: random.Random) -> str | None:
    """``name`` with one given-name character replaced by a common same-sound character.

    None when no character has one, or every result is someone else's registered name.
    """
    surname, given = split_name(name)
    positions = list(range(len(given)))
    rng.shuffle(positions)
    for position in positions:
        original = given[position]
        candidates = [
            c for c in _common_characters_by_sound().get(_sound(original), ()) if c != original
        ]
        rng.shuffle(candidates)
        for char in candidates:
            heard = surname + given[:position] + char + given[position + 1 :]
            if heard not in taken:
                return heard
    return None


def name_answer(style: str, heard: str) -> str:
    surname, _ = split_name(heard)
    return NAME_FRAMES[style].format(
        name=heard, surname=surname, description=SURNAME_DESCRIPTIONS.get(surname, "")
    )


# --- the catalogue ------------------------------------------------------------------------


def load_services(path: Path = SERVICES_FILE) -> tuple[Service, ...]:
    """Services with what counts as naming them. Materials most services ask for (身份证,
    户口本 …) would show nothing, so only those of at most three services count."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["services"]
    material_use: dict[str, int] = {}
    for entry in entries:
        for material in set(entry.get("materials") or ()):
            material_use[material] = material_use.get(material, 0) + 1
    services = []
    for entry in entries:
        distinctive = [m for m in entry.get("materials") or () if material_use[m] <= 3]
        evidence = (entry["name"], *(entry.get("steps") or ()), *distinctive)
        services.append(
            Service(entry["id"], entry["name"], tuple(entry.get("aliases") or ()), evidence)
        )
    return tuple(services)


def load_centers(path: Path = CENTERS_FILE) -> dict[str, str]:
    """District → the name of its service centre."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["centers"]
    return {entry["district"]: entry["name"] for entry in entries}


@dataclass(frozen=True)
class Resident:
    index: int
    id_number: str
    name: str
    district: str


def load_residents(path: Path = RESIDENTS_FILE) -> list[Resident]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Resident(i, row["id_number"], row["name"], row["district"])
            for i, row in enumerate(csv.DictReader(handle))
        ]


# --- making personas ----------------------------------------------------------------------


def _pick_residents(residents: list[Resident], count: int, rng: random.Random) -> list[Resident]:
    """Every appended (compound-surname) resident, then originals at random, in random order."""
    appended = [r for r in residents if r.index >= ORIGINAL_RESIDENTS]
    originals = [r for r in residents if DEMO_RESIDENTS <= r.index < ORIGINAL_RESIDENTS]
    chosen = appended[:count] + rng.sample(originals, max(0, count - len(appended)))
    rng.shuffle(chosen)
    return chosen


def make_personas(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[Persona]:
    """``count`` personas, the same for the same seed and data files."""
    rng = random.Random(seed)
    residents = load_residents()
    taken = {r.name for r in residents}
    services = load_services()
    centers = load_centers()
    personas = []
    for number, resident in enumerate(_pick_residents(residents, count, rng), start=1):
        task = rng.choices(list(TASK_WEIGHTS), weights=list(TASK_WEIGHTS.values()))[0]
        if task is Task.CENTER and resident.district not in centers:
            task = Task.STATUS
        personas.append(_persona(f"p{number:03d}", task, resident, taken, services, centers, rng))
    return personas


def _persona(
    key: str,
    task: Task,
    resident: Resident,
    taken: set[str],
    services: tuple[Service, ...],
    centers: dict[str, str],
    rng: random.Random,
) -> Persona:
    features: list[str] = []
    heard = resident.name
    if task is Task.AUTH and rng.random() < 0.3:
        heard = homophone(resident.name, taken, rng) or resident.name
        if heard != resident.name:
            features.append("homophone")
    surname, _ = split_name(resident.name)
    styles = [s for s in NAME_FRAMES if s != "describe" or surname in SURNAME_DESCRIPTIONS]
    name_style = rng.choice(styles)
    id_style = rng.choice(list(IdStyle))
    radio = rng.random() < 0.5
    id_answer = id_utterance(resident.id_number, id_style, radio, rng)
    wrong = None
    if task is Task.AUTH and rng.random() < 0.2:
        wrong = id_utterance(wrong_last_group(resident.id_number), id_style, radio, rng)
        features.append("correction")
    service = rng.choice(services) if task is Task.SERVICE else None
    if service is not None:  # also the answer to "您要办哪一项？"
        alias = rng.choice(service.aliases or (service.name,))
        opening = rng.choice(SERVICE_FRAMES).format(alias=alias)
    else:
        opening = rng.choice(OPENINGS[task])
    noise_before = rng.choice(NOISE) if rng.random() < 0.2 else None
    noise_within = (
        rng.choice(NOISE) if task in (Task.AUTH, Task.STATUS) and rng.random() < 0.15 else None
    )
    command = rng.choice((REPEAT, SLOWER)) if rng.random() < 0.2 else None
    features += [f"name:{len(resident.name)}", f"name_style:{name_style}", f"id:{id_style.value}"]
    if len(surname) == 2:
        features.append("compound_surname")
    for flag, present in (("noise", noise_before or noise_within), ("command", command)):
        if present:
            features.append(flag)
    return Persona(
        key=key,
        task=task,
        resident_name=resident.name,
        id_number=resident.id_number,
        district=resident.district,
        original=resident.index < ORIGINAL_RESIDENTS,
        heard_name=heard,
        name_style=name_style,
        id_style=id_style,
        radio_digits=radio,
        opening=opening,
        first_name_answer=name_answer(name_style, heard),
        id_answer=id_answer,
        wrong_id_answer=wrong,
        noise_before=noise_before,
        noise_within=noise_within,
        command=command,
        service=service,
        center_name=centers.get(resident.district) if task is Task.CENTER else None,
        district_answer=(
            rng.choice(DISTRICT_FRAMES).format(
                district=resident.district,
                short=resident.district.removesuffix("新区").removesuffix("区"),
            )
            if task is Task.CENTER
            else None
        ),
        features=tuple(features),
    )
