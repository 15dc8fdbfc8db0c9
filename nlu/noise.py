"""Is an utterance a request at all, or filler, babble and half words?

A recogniser writes down whatever it hears: hesitation (呃那个那个就是说), interjections,
a neighbour's chatter. DIET was trained on requests only and gives such text some intent
with fair confidence, so noise started tasks. What is left of an utterance once fillers,
interjections, particles and punctuation are taken out tells: nothing left, or one
character that is no answer on its own, is noise. Plain Python: the NLU pipeline
(`nlu.noise_filter`) and the action server (the reply "没听清") use the same test.
"""

from __future__ import annotations

import re
import unicodedata

# Longest first: 就是说 before 就是.
_FILLER_WORDS = (
    "就是说",
    "怎么说呢",
    "怎么说",
    "那什么",
    "这么说",
    "然后呢",
    "就是",
    "那个",
    "这个",
    "那么",
    "然后",
    "反正",
    "其实",
    "所以",
    "这样",
    "那样",
    "什么的",
    "的话",
    "一下",
    "一个",
)
_FILLER_CHARS = "嗯呃额啊阿哦噢喔唉哎诶欸喂哈嘿呀吧啦嘛呢么了的呗哼咳嗨那这说就也还又"
_FILLER = re.compile("|".join(_FILLER_WORDS) + f"|[{_FILLER_CHARS}]")
_NOT_WORDS = re.compile(r"[\W_]+")
# One character that does answer something on its own (yes, no, a choice; 中 and 成 are
# a northern yes).
_YES_HUM = re.compile(r"嗯{1,2}")
_ONE_CHARACTER_ANSWERS = frozenset("对是好行中成可要不没有错停慢快帮办查")


def meaningful_part(text: str) -> str:
    """What remains of ``text`` without fillers, interjections and punctuation."""
    clean = _NOT_WORDS.sub("", unicodedata.normalize("NFKC", text))
    previous = None
    while previous != clean:  # 那个那个 → 那个 → nothing
        previous, clean = clean, _FILLER.sub("", clean)
    return clean


def is_noise(text: str) -> bool:
    """True for 呃那个那个就是说, 嗯嗯啊, …; False for 对, 认证, 王桂兰, digits."""
    if _YES_HUM.fullmatch(_NOT_WORDS.sub("", text)):
        return False  # 嗯 / 嗯嗯 alone answer a question: yes
    rest = meaningful_part(text)
    if not rest:
        return True
    return len(rest) == 1 and rest not in _ONE_CHARACTER_ANSWERS and not rest.isdigit()
