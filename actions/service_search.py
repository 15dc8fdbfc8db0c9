"""Finding the service a user means, from what an elderly speaker says and a recogniser writes.

Users rarely say the official name. They say what they call it (老年卡 for 敬老卡), describe
it in a whole sentence ("俺想问问那个八十岁以上老人的补贴咋领"), and the kiosk's offline
recogniser writes the right sounds with the wrong characters (金贴 for 津贴, 一宝 for 医保,
任正 for 认证). So the search compares *sounds*, not characters:

1. jieba splits the query into words; filler and question words (那个, 咋, 的, 想问问) are
   dropped as whole words, so the words around them become neighbours ("老人的补贴" reads
   as 老人补贴). The catalogue's names and aliases are in the tokenizer's dictionary.
2. Each remaining word becomes toneless pinyin (pypinyin), with the accent merges that
   recognisers and southern speakers make (zh/z, ch/c, sh/s, n/l, -ng/-n): 近贴, 金贴 and
   津贴 all sound "jin tie".
3. Every name and alias is a set of syllable pairs. A query *covers* a name by containing
   its pairs, next to each other or with one syllable in between; the score is how much of
   the name is covered. Pairs that many services share (补贴, 医保, 社保) count for less
   (inverse document frequency), and a name covered by more evidence ranks above a shorter
   one (医保报销 over 医保 for "一宝报销").

The score of a service is that of its best-covered name, in 0..1. ``decide`` turns the
ranking into one of: a confident answer, two or three candidates to ask about, or nothing.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cn2an
import jieba

from actions.catalogue import Service, load_services
from nlu.pinyin import fuzzy_syllables

logger = logging.getLogger(__name__)

#: The project's jieba dictionary (also used by the NLU pipeline's JiebaTokenizer).
USER_DICT = Path(__file__).resolve().parent.parent / "nlu" / "dict" / "service_terms.txt"

#: At or above this, and clearly ahead of the next one, a match is taken without asking.
CONFIDENT_SCORE = 0.6
#: "Clearly ahead": the best must lead the second by at least this much.
CLEAR_MARGIN = 0.12
#: Below this a match is not worth offering as a candidate.
MIN_SCORE = 0.3
#: At most this many candidates are offered (read aloud in one question).
MAX_CANDIDATES = 3

# A pair of syllables with one syllable between them still counts, for less: it covers an
# inserted sound (高龄的津贴) or a garbled one.
_GAP_CREDIT = 0.6
# How fast more matched evidence makes a match trustworthy; about one rare syllable pair.
_EVIDENCE_SCALE = 2.0
# A query that is wholly part of a name ("医保", "补贴") scores at most this: enough to be
# offered as a candidate, never enough to be taken without asking.
_PART_OF_NAME = 0.45
# A match inside a longer match of another service keeps this share of its score.
_EXPLAINED_AWAY = 0.6

# Whole words that carry no meaning for the search.
_STOP_WORDS = frozenset(
    {
        *("请问", "问问", "问一下", "打听", "打听一下", "听说", "知道", "一下", "然后"),
        *("那个", "这个", "那种", "这种", "哪个", "就是", "一个", "我们", "你们", "他们"),
        *("咱们", "怎么", "怎么办", "怎么样", "怎样", "如何", "什么", "为什么", "是不是"),
        *("申请", "办理", "领取", "需要", "应该", "可不可以", "能不能", "有没有"),
        *("国家", "政府"),
    }
)
# A word made only of these characters is a filler or question word (咋领, 办个, 有啥).
_FUNCTION_CHARS = frozenset(
    "俺我咱你您他她它们想要问请那这个哪咋怎么办样啥什能可以去在到的了吗呢吧啊呀嗯呃哦嘛哈"
    "得地着过是有没给帮领弄搞整就都还也又下好不会该让叫把被从跟和与"
)


class Verdict(enum.Enum):
    CONFIDENT = "confident"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Match:
    """A service and how well the query covers its best-matching name (0..1)."""

    service: Service
    score: float
    term: str


@dataclass(frozen=True)
class Decision:
    """What to do with a query: answer, ask which of ``candidates``, or say not found."""

    verdict: Verdict
    candidates: tuple[Match, ...] = ()

    @property
    def service(self) -> Service | None:
        """The service to answer about, only when the match is confident."""
        return self.candidates[0].service if self.verdict is Verdict.CONFIDENT else None


def syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin of ``text``, letters only, accent merges applied."""
    return fuzzy_syllables(text)


def _pairs(sounds: Sequence[str], gap: int) -> dict[tuple[str, str], set[int]]:
    """Syllable pairs ``gap`` apart, each with the query positions it spans."""
    pairs: dict[tuple[str, str], set[int]] = {}
    for i in range(len(sounds) - gap):
        pairs.setdefault((sounds[i], sounds[i + gap]), set()).update(range(i, i + gap + 1))
    return pairs


def _units(sounds: Sequence[str]) -> frozenset[tuple[str, str]]:
    """What a name is made of: its syllable pairs (a one-syllable name pairs with itself)."""
    if len(sounds) == 1:
        return frozenset({(sounds[0], sounds[0])})
    return frozenset(_pairs(sounds, 1))


def core_term(term: str) -> str:
    """A name without the verb people put before it: 办退休 → 退休, 申请低保 → 低保.

    The verb is dropped from queries as a filler word, so it must not be part of the name
    either; left in, 办失业证 would half-match "办事指南".
    """
    for prefix in ("申请", "办理"):
        term = term.removeprefix(prefix)
    return term.lstrip("".join(_FUNCTION_CHARS)) or term


@dataclass(frozen=True)
class _Term:
    service: Service
    text: str
    sounds: tuple[str, ...]
    units: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class _Query:
    """A query as sounds, with the pairs it contains and where they are."""

    sounds: tuple[str, ...]
    adjacent: dict[tuple[str, str], set[int]]
    gapped: dict[tuple[str, str], set[int]]

    @classmethod
    def of(cls, sounds: tuple[str, ...]) -> _Query:
        adjacent = _pairs(sounds, 1)
        if len(sounds) == 1:
            adjacent = {(sounds[0], sounds[0]): {0}}
        return cls(sounds, adjacent, _pairs(sounds, 2))


@dataclass(frozen=True)
class _Scored:
    score: float
    coverage_score: float
    span: frozenset[int]


class ServiceSearch:
    """Ranks the services of a catalogue against what a user said. Build once, reuse."""

    def __init__(self, services: Iterable[Service], user_dict: Path | None = USER_DICT) -> None:
        self.services = tuple(services)
        self._tokenizer = jieba.Tokenizer()
        if user_dict is not None and user_dict.exists():
            self._tokenizer.load_userdict(str(user_dict))
        for service in self.services:
            for term in service.terms:
                self._tokenizer.add_word(core_term(term), freq=20000)
        self._terms = [
            _Term(service, term, sounds, _units(sounds))
            for service in self.services
            for term in service.terms
            if (sounds := self.sounds(core_term(term)))
        ]
        self._weights = self._unit_weights()
        # A pair no service has is evidence the user means something else: it weighs as
        # much as the rarest pair the catalogue has.
        self._unknown_weight = math.log(1 + len(self.services))
        logger.info(
            "Service search ready: %d services, %d names and aliases",
            len(self.services),
            len(self._terms),
        )

    def _unit_weights(self) -> dict[tuple[str, str], float]:
        """Inverse document frequency of each syllable pair, a service being a document."""
        per_service: dict[str, set[tuple[str, str]]] = {}
        for term in self._terms:
            per_service.setdefault(term.service.id, set()).update(term.units)
        counts = Counter(unit for units in per_service.values() for unit in units)
        total = len(per_service)
        return {unit: math.log(1 + total / count) for unit, count in counts.items()}

    def words(self, text: str) -> list[str]:
        """The meaningful words of ``text``: digits spelled out, fillers and punctuation gone."""
        text = unicodedata.normalize("NFKC", text).lower()
        try:
            text = cn2an.transform(text, "an2cn")  # 80岁 → 八十岁, as people say it
        except Exception:  # cn2an rejects some digit runs; they carry no service name
            logger.debug("cn2an could not spell out the digits of %r", text)
        return [
            word
            for word in self._tokenizer.lcut(text)
            if word.strip()
            and word not in _STOP_WORDS
            and not set(word) <= _FUNCTION_CHARS
            and syllables(word)
        ]

    def sounds(self, text: str) -> tuple[str, ...]:
        """The syllables of the meaningful words of ``text``, in order."""
        return tuple(itertools.chain.from_iterable(syllables(w) for w in self.words(text)))

    def _score(self, term: _Term, query: _Query) -> _Scored:
        """How well ``query`` covers ``term``, or how much of ``query`` is part of ``term``."""
        if term.sounds == query.sounds:
            return _Scored(1.0, 1.0, frozenset(range(len(query.sounds))))
        total = matched = 0.0
        span: set[int] = set()
        for unit in term.units:
            weight = self._weights[unit]
            total += weight
            if unit in query.adjacent:
                matched += weight
                span |= query.adjacent[unit]
            elif unit in query.gapped:
                matched += _GAP_CREDIT * weight
                span |= query.gapped[unit]
        coverage = (matched / total) * (1 - math.exp(-matched / _EVIDENCE_SCALE))
        # "医保", "补贴": the user said part of a name (of several services, usually).
        said = sum(self._weights.get(u, self._unknown_weight) for u in query.adjacent)
        inside = sum(self._weights[u] for u in query.adjacent if u in term.units)
        part_of_name = _PART_OF_NAME * (inside / said) ** 2 if said else 0.0
        return _Scored(max(coverage, part_of_name), coverage, frozenset(span))

    def search(self, query: str, limit: int = 5) -> list[Match]:
        """Services that ``query`` may mean, best first, each with its score in 0..1."""
        sounds = self.sounds(query)
        if not sounds:
            return []
        parsed = _Query.of(sounds)
        best: dict[str, tuple[_Scored, _Term]] = {}
        for term in self._terms:
            scored = self._score(term, parsed)
            current = best.get(term.service.id)
            if scored.score > 0 and (
                current is None
                or (scored.score, scored.coverage_score)
                > (current[0].score, current[0].coverage_score)
            ):
                best[term.service.id] = (scored, term)
        ranked = [
            (_explained_away(scored, [other for other, _ in best.values()]), scored, term)
            for scored, term in best.values()
        ]
        ranked.sort(key=lambda r: (-r[0], -r[1].coverage_score, r[2].service.name))
        matches = [Match(term.service, round(score, 4), term.text) for score, _, term in ranked]
        # The query itself is not logged: it may hold a name or an ID number.
        logger.debug("Search ranking: %s", [(m.service.id, m.score) for m in matches[:limit]])
        return matches[:limit]

    def decide(self, query: str) -> Decision:
        """Search, then ``decide`` on the ranking."""
        return decide(self.search(query))


def _explained_away(scored: _Scored, others: Sequence[_Scored]) -> float:
    """The score, lowered when another service matched a longer stretch at least as well.

    "失能老人补帖" contains 老人补贴 (高龄津贴) too, but inside 失能老人补贴: the longest
    match wins, as it would for a person reading the sentence.
    """
    for other in others:
        if scored.span < other.span and other.score >= scored.score:
            return scored.score * _EXPLAINED_AWAY
    return scored.score


def decide(matches: Sequence[Match]) -> Decision:
    """One confident match, or the two or three candidates to ask about, or not found.

    Confident: the best scores at least CONFIDENT_SCORE and leads the next by CLEAR_MARGIN.
    Otherwise every match from MIN_SCORE up is a candidate (at most MAX_CANDIDATES); a lone
    weak candidate is offered with the next best, when there is one, so the user hears a
    choice of names rather than a yes/no question the form cannot take as an answer.
    """
    if not matches or matches[0].score < MIN_SCORE:
        return Decision(Verdict.NOT_FOUND)
    best = matches[0]
    runner_up = matches[1].score if len(matches) > 1 else 0.0
    if best.score >= CONFIDENT_SCORE and best.score - runner_up >= CLEAR_MARGIN:
        return Decision(Verdict.CONFIDENT, (best,))
    candidates = [m for m in matches[:MAX_CANDIDATES] if m.score >= MIN_SCORE]
    if len(candidates) == 1 and len(matches) > 1:
        candidates.append(matches[1])
    return Decision(Verdict.AMBIGUOUS, tuple(candidates))


@lru_cache(maxsize=4)
def search_for(catalogue: Path) -> ServiceSearch:
    """The search over a catalogue file, built once per file (the tokenizer takes ~0.5 s)."""
    return ServiceSearch(load_services(catalogue))
