"""帮他人认证: a relative, neighbour, volunteer or caseworker authenticates an elder.

The helper starts it on their own channel ("我帮我妈认证"), says how they are related,
gives the elder's name and ID number; the elder, present, confirms in their own words
("同意认证"). The registry records the helper's relation and that confirmation with the
certification. One helper may act for a limited number of residents (``HELPER_LIMIT``,
default 8) within a year: the ledger here counts them by keyed references, never by ID
number, so it holds nothing a leak could use.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

RELATIONS = ("子女", "配偶", "亲属", "邻居", "志愿者", "社工")

# Words naming the elder ("我妈") or the helper ("我是他女儿"), longest first when read.
# Either way they tell the helper's relation to the elder.
_RELATION_WORDS: dict[str, str] = {
    **dict.fromkeys(
        [
            "妈妈",
            "妈",
            "母亲",
            "老妈",
            "爸爸",
            "爸",
            "父亲",
            "老爸",
            "爹",
            "娘",
            "儿子",
            "女儿",
            "子女",
            "孩子",
            "闺女",
            "儿女",
        ],
        "子女",
    ),
    **dict.fromkeys(["老伴", "老公", "老婆", "丈夫", "妻子", "爱人", "配偶", "媳妇"], "配偶"),
    **dict.fromkeys(
        [
            "亲属",
            "亲戚",
            "家属",
            "奶奶",
            "爷爷",
            "外婆",
            "外公",
            "姥姥",
            "姥爷",
            "舅舅",
            "舅妈",
            "姑姑",
            "姑妈",
            "叔叔",
            "婶婶",
            "伯伯",
            "伯母",
            "婆婆",
            "公公",
            "岳母",
            "岳父",
            "丈母娘",
            "儿媳",
            "女婿",
            "孙子",
            "孙女",
            "外孙",
            "外孙女",
            "哥哥",
            "姐姐",
            "弟弟",
            "妹妹",
            "侄子",
            "侄女",
            "家里老人",
            "家里人",
        ],
        "亲属",
    ),
    **dict.fromkeys(["邻居", "街坊", "隔壁"], "邻居"),
    **dict.fromkeys(["志愿者", "义工"], "志愿者"),
    **dict.fromkeys(
        ["社工", "社区工作人员", "网格员", "居委会", "村委会", "工作人员", "社区的"], "社工"
    ),
    **{relation: relation for relation in RELATIONS},
}
_BY_LENGTH = sorted(_RELATION_WORDS, key=len, reverse=True)

# "帮/替/给/代 + (我家) + a relative": "给我老伴李建国做一下认证", not "没人帮我弄手机".
_FOR_RELATIVE = re.compile(
    "(帮|替|给|代|为)(我们家|我家|咱家|我|咱)?的?(" + "|".join(map(re.escape, _BY_LENGTH)) + ")"
)
_OTHER_PERSON = re.compile(r"(?<!其)[他她]|别人|老人|人家|长辈|代认证|代办|帮你认|代他人")


def relation_in(text: str) -> str | None:
    """The helper's relation to the elder that the words tell, if any."""
    for word in _BY_LENGTH:
        if word in text:
            return _RELATION_WORDS[word]
    return None


def for_someone_else(text: str) -> bool:
    """Whether an authentication request is made for another person ("我帮我妈认证")."""
    if not text:
        return False
    return _FOR_RELATIVE.search(text) is not None or _OTHER_PERSON.search(text) is not None


_AGREE = re.compile(r"同意|我愿意|是我本人|我本人")
_REFUSE = re.compile(r"不同意|不愿意|不认证|不要认证|不行|不办")


def elder_agrees(text: str) -> bool | None:
    """The elder's own answer to "请老人自己说：同意认证": yes, no, or not an answer."""
    if _REFUSE.search(text):
        return False
    if _AGREE.search(text):
        return True
    return None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS assisted (
    helper_ref TEXT NOT NULL,
    resident_ref TEXT NOT NULL,
    relation TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assisted_by_helper ON assisted(helper_ref, at);
"""


class HelperLedger:
    """Who helped whom and when (keyed references only), for the limit and the audit."""

    def __init__(self, db_path: Path, window: timedelta = timedelta(days=365)) -> None:
        self._db_path = db_path
        self._window = window

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self._db_path, timeout=5)) as connection:
            connection.executescript(_SCHEMA)
            with connection:
                yield connection

    def helped(self, helper_ref: str, now: datetime) -> set[str]:
        """The residents this helper authenticated within the window."""
        since = (now - self._window).isoformat(timespec="seconds")
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT DISTINCT resident_ref FROM assisted WHERE helper_ref = ? AND at >= ?",
                (helper_ref, since),
            ).fetchall()
        return {row[0] for row in rows}

    def may_help(self, helper_ref: str, resident_ref: str, limit: int, now: datetime) -> bool:
        """Someone already helped may be helped again; a new one only under the limit."""
        helped = self.helped(helper_ref, now)
        return resident_ref in helped or len(helped) < limit

    def record(self, helper_ref: str, resident_ref: str, relation: str, now: datetime) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO assisted VALUES (?, ?, ?, ?)",
                (helper_ref, resident_ref, relation, now.isoformat(timespec="seconds")),
            )
