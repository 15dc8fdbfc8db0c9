"""Reading a person's name from what a resident says, the way Chinese names work.

DIET tags names said in passing well enough, but asked "请说您的姓名" people answer with a
bare name (吴霞), a phrase (我叫孙文华, 姓王叫王桂兰, 免贵姓徐), or spell characters out
the way one does on the phone (木子李, 桂花的桂). A statistical tagger trained on a few
dozen names drops surnames it has not seen (孙文华 → 文华) and reads short names as
words (吴霞 → affirm). So while the name is asked, the whole answer is read here: a
surname from `nlu.surnames` (compound ones first), one or two given characters, nothing
that is clearly not part of a name. Plain Python, shared by the NLU pipeline and the
action server.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from nlu.surnames import COMPOUND_SURNAMES, SINGLE_SURNAMES, SURNAME_SPELLINGS, split_surname

# Characters that practically never stand in a given name but often follow one in speech
# (我叫王桂兰的 / 王桂兰来认证 / 王桂兰要办). Keeping them out is what lets "那个", "是的",
# "取消" or "高龄津贴" fail as names.
_NOT_IN_NAMES = frozenset(
    "的了吗呢吧啊呀嗯呃哦嘛哈么什怎哪谁咋啥呗哎唉噢额喂"
    "我你您他她它们这那个就还再说遍点慢快帮助取消转人工不对是没好给在跟到被把让用会"
    "可以得着过也都很太最更号码身份证认查去来吃喝做看听知道想要问请办事情里下上"
    "谢几多少钱岁年月日号一二三四五六七八九十零百千万两幺洞叉"
    "区县市省镇乡村街路楼院卡费证"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_PUNCTUATION = re.compile(r"[\W_]+")  # spaces and punctuation of every script
_FILLERS = re.compile(r"嗯+|呃+|额+|啊+|哦+|噢+|唉+|哎+|那个|这个|就是说|就是|然后")
# Phrases before a name. Longest first, so 我的名字叫 wins over 我叫.
_INTRODUCTIONS = (
    "我的名字叫",
    "我的名字是",
    "我的姓名是",
    "我名字叫",
    "我名字是",
    "名字叫",
    "名字是",
    "姓名是",
    "姓名",
    "我叫",
    "俺叫",
    "我是",
    "俺是",
    "本人",
    "叫",
)
_INTRODUCTION = re.compile("^(?:" + "|".join(_INTRODUCTIONS) + ")")
_INTRODUCTION_ANYWHERE = re.compile("(?:" + "|".join(_INTRODUCTIONS) + ")")
# 姓王叫王桂兰 / 我姓王，叫桂兰 / 免贵姓欧阳名秀英
_SURNAME_THEN_NAME = re.compile(
    r"^(?:我|俺)?(?:免贵)?姓(?P<surname>[\u4e00-\u9fff]{1,2}?)"
    r"(?:名字叫|名字是|名叫|叫|名)(?P<rest>[\u4e00-\u9fff]{1,4})$"
)
_SURNAME_ONLY = re.compile(r"^(?:我|俺)?(?:免贵)?姓(?P<surname>[\u4e00-\u9fff]{1,2})$")
# 桂花的桂, 赵钱孙李的赵, 三点水的江
_CHARACTER_IN_WORD = re.compile(r"^(?P<word>[\u4e00-\u9fff]{1,4})的(?P<char>[\u4e00-\u9fff])$")
_COMPONENT_WORD = re.compile(r"(旁|头|底|边|框|字)$")
# Particles after a name: 王桂兰呀, 是吴霞啊.
_TRAILING = re.compile(r"(?:呀|啊|吧|呢|哈|啦|嘛|哦|的|了)+$")


@dataclass(frozen=True)
class NameReading:
    """A name read from an answer, and the characters the resident spelt out."""

    name: str
    # Characters the resident described ("桂花的桂"): they are sure of these.
    spelt: frozenset[str] = frozenset()


def looks_like_name(candidate: str) -> bool:
    """A surname of the list, then one or two given characters that can be in a name."""
    parts = split_surname(candidate)
    if parts is None:
        return False
    _, given = parts
    return bool(given) and all(_HAN.fullmatch(c) and c not in _NOT_IN_NAMES for c in given)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _clauses(text: str) -> list[str]:
    """The answer in clauses, fillers removed: 嗯 我叫王桂兰，桂花的桂 → [我叫王桂兰, 桂花的桂]."""
    parts = (_FILLERS.sub("", part) for part in _PUNCTUATION.split(_normalise(text)))
    return [part for part in parts if part]


def _spelt_character(clause: str) -> tuple[str, bool] | None:
    """The character a clause spells out, and whether it is a surname spelling (木子李)."""
    for spelling, surname in SURNAME_SPELLINGS.items():
        if clause in (spelling, f"{spelling}的{surname}", f"姓{spelling}", f"{spelling}姓"):
            return surname, True
    match = _CHARACTER_IN_WORD.match(clause)
    if match is None:
        return None
    word, char = match.group("word"), match.group("char")
    if char in word or _COMPONENT_WORD.search(word):
        return char, False
    return None


def _split_spelling_prefix(clause: str) -> tuple[str | None, str]:
    """木子李建国 → (李, 建国): a surname spelling run into the rest of the answer."""
    for spelling, surname in SURNAME_SPELLINGS.items():
        for prefix in (f"{spelling}的{surname}", spelling):
            if clause.startswith(prefix) and len(clause) > len(prefix):
                return surname, clause[len(prefix) :]
    return None, clause


def _name_of_clause(clause: str) -> tuple[str | None, str | None]:
    """(name, surname said alone) read from one clause without spellings."""
    match = _SURNAME_THEN_NAME.match(clause)
    if match:
        surname, rest = match.group("surname"), _TRAILING.sub("", match.group("rest"))
        name = rest if rest.startswith(surname) else surname + rest
        return (name if looks_like_name(name) else None), None
    match = _SURNAME_ONLY.match(clause)
    if match and (
        match.group("surname") in COMPOUND_SURNAMES or match.group("surname")[0] in SINGLE_SURNAMES
    ):
        return None, match.group("surname")
    candidate = _TRAILING.sub("", _INTRODUCTION.sub("", clause))
    for ending in ("就是我", "是我", "我"):  # 王桂兰就是我 (就是 is gone as a filler)
        if candidate.endswith(ending) and looks_like_name(candidate[: -len(ending)]):
            candidate = candidate[: -len(ending)]
    return (candidate if looks_like_name(candidate) else None), None


def _same_sound(a: str, b: str) -> bool:
    from nlu.name_sound import sounds_alike

    return sounds_alike(a, b)


def _apply_spelling(name: str, char: str, is_surname: bool) -> str:
    """Put a spelt-out character where the name has the same sound (王贵兰 + 桂花的桂 → 王桂兰)."""
    if char in name:
        return name
    parts = split_surname(name)
    if is_surname and parts is not None:
        return char + parts[1] if len(parts[0]) == 1 else name
    for index, current in enumerate(name):
        if _same_sound(current, char):
            return name[:index] + char + name[index + 1 :]
    return name


def _given_only(clause: str) -> bool:
    return 1 <= len(clause) <= 2 and all(
        _HAN.fullmatch(c) and c not in _NOT_IN_NAMES for c in clause
    )


def read_name(text: str) -> NameReading | None:
    """The name in an answer to "请说您的姓名", or None when the answer is not a name.

    The whole answer must be a name, with an introduction (我叫…), fillers, particles and
    spelt-out characters around it; "我要认证" or "再说一遍" are not names.
    """
    name: str | None = None
    surname: str | None = None  # said alone: 姓王 / 木子李
    given: str | None = None  # said alone after the surname: 木子李，建国
    spellings: list[tuple[str, bool]] = []
    clauses = _clauses(text)
    whole, _ = _name_of_clause("".join(clauses))  # a recogniser's spaces: 孙 文华
    if whole is not None:
        return NameReading(whole)
    for raw in clauses:
        clause = _TRAILING.sub("", _INTRODUCTION.sub("", raw))
        if not clause:
            continue
        spelt = _spelt_character(clause)
        if spelt is not None:
            spellings.append(spelt)
            surname = surname or (spelt[0] if spelt[1] else None)
            continue
        spelt_surname, rest = _split_spelling_prefix(clause)
        if spelt_surname is not None:
            spellings.append((spelt_surname, True))
            surname = surname or spelt_surname
            clause = _TRAILING.sub("", _INTRODUCTION.sub("", rest))
        found, alone = _name_of_clause(clause)
        if found is None and alone is None:
            if _given_only(clause) and given is None:
                given = clause
                continue
            return None  # neither a name nor a spelling: not a bare answer to the question
        if found is not None:
            if name is not None and found != name:
                return None  # two different names: let a person sort it out
            name = found
        surname = surname or alone
    if name is None and surname is not None and given is not None:
        name = surname + given if looks_like_name(surname + given) else None
    if name is None:
        return None
    for char, is_surname in spellings:
        name = _apply_spelling(name, char, is_surname)
    return NameReading(name, frozenset(char for char, _ in spellings))


def _longest_name_at(text: str, start: int) -> str | None:
    for length in (4, 3, 2):
        candidate = text[start : start + length]
        if len(candidate) == length and looks_like_name(candidate):
            return candidate
    return None


def name_in_sentence(text: str) -> str | None:
    """A name introduced in passing (我叫孙文华，来认证的), or None."""
    clean = "".join(_clauses(text))
    for match in _INTRODUCTION_ANYWHERE.finditer(clean):
        found = _longest_name_at(clean, match.end())
        if found is not None:
            return found
    return None


def complete_name(partial: str, text: str) -> str:
    """A tagged name with its surname put back: DIET's 文华 in "孙文华" is 孙文华.

    Only grows the name: a surname right before the tagged characters, forming a name.
    """
    clean = "".join(_clauses(text))
    index = clean.find(partial)
    if index < 0:
        return partial
    for surname_length in (2, 1):
        start = index - surname_length
        if start < 0:
            continue
        candidate = clean[start:index] + partial
        parts = split_surname(candidate)
        if parts is not None and len(parts[0]) >= surname_length and looks_like_name(candidate):
            return candidate
    return partial
