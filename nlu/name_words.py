"""Saying which characters a name is written with, the way people do on the phone.

When the registry matches a name only by sound (王贵兰 heard, 王桂兰 registered), the bot
asks "登记的名字是王桂兰，桂花的桂，兰花的兰，对吗？": a listener cannot see characters,
so each one is named by a common word it is in. Surnames have their own spellings
(木子李, 弓长张: `nlu.surnames`). Characters not in the table get the most frequent
two-character word of jieba's dictionary that contains them.
"""

from __future__ import annotations

import functools

from nlu.surnames import SPELLING_OF_SURNAME, split_surname

# A common, concrete word for characters frequent in given names (and some surnames).
CHARACTER_WORDS: dict[str, str] = {
    "桂": "桂花",
    "兰": "兰花",
    "梅": "梅花",
    "英": "英雄",
    "秀": "优秀",
    "珍": "珍珠",
    "芳": "芬芳",
    "芬": "芬芳",
    "华": "中华",
    "美": "美丽",
    "丽": "美丽",
    "玉": "玉米",
    "凤": "凤凰",
    "霞": "彩霞",
    "香": "香味",
    "花": "花朵",
    "菊": "菊花",
    "莲": "莲花",
    "荷": "荷花",
    "琴": "钢琴",
    "翠": "翠绿",
    "淑": "贤淑",
    "素": "朴素",
    "芝": "灵芝",
    "云": "白云",
    "红": "红色",
    "萍": "浮萍",
    "燕": "燕子",
    "娟": "娟秀",
    "敏": "敏捷",
    "静": "安静",
    "婷": "婷婷",
    "莉": "茉莉",
    "建": "建设",
    "国": "国家",
    "军": "军人",
    "强": "强大",
    "刚": "刚才",
    "勇": "勇敢",
    "明": "明天",
    "平": "平安",
    "安": "平安",
    "福": "幸福",
    "富": "富裕",
    "贵": "宝贵",
    "宝": "宝贝",
    "山": "山水",
    "林": "树林",
    "树": "大树",
    "海": "大海",
    "江": "长江",
    "河": "河水",
    "文": "文化",
    "武": "武术",
    "德": "道德",
    "志": "志气",
    "忠": "忠心",
    "义": "正义",
    "仁": "仁义",
    "礼": "礼貌",
    "信": "信用",
    "和": "和平",
    "顺": "顺利",
    "庆": "国庆",
    "喜": "喜欢",
    "春": "春天",
    "夏": "夏天",
    "秋": "秋天",
    "冬": "冬天",
    "生": "生日",
    "长": "长短",
    "永": "永远",
    "胜": "胜利",
    "利": "胜利",
    "荣": "光荣",
    "光": "光明",
    "辉": "光辉",
    "亮": "明亮",
    "伟": "伟大",
    "成": "成功",
    "功": "成功",
    "振": "振兴",
    "兴": "高兴",
    "援": "支援",
    "放": "解放",
    "解": "解放",
    "朝": "朝阳",
    "阳": "太阳",
    "方": "方向",
    "木": "树木",
    "金": "金子",
    "守": "守护",
    "官": "官员",
    "容": "容易",
    "孙": "孙子",
    "侯": "王侯",
    "葛": "葛根",
    "迟": "迟到",
    "甫": "杜甫",
    "狐": "狐狸",
    "龙": "龙凤",
    "虎": "老虎",
    "鹏": "大鹏",
    "飞": "飞机",
    "东": "东西",
    "西": "东西",
    "南": "南方",
    "北": "北方",
    "中": "中间",
    "新": "新旧",
    "清": "清水",
    "洪": "洪水",
    "波": "波浪",
    "涛": "波涛",
    "峰": "山峰",
    "岩": "岩石",
    "石": "石头",
    "玲": "玲珑",
    "慧": "智慧",
    "智": "智慧",
    "佳": "佳节",
    "欣": "欣喜",
    "惠": "优惠",
    "雪": "雪花",
    "冰": "冰雪",
    "月": "月亮",
    "星": "星星",
    "晓": "拂晓",
    "杰": "杰出",
    "俊": "英俊",
    "斌": "文斌",
    "彬": "彬彬",
    "良": "善良",
    "善": "善良",
    "宏": "宏大",
    "大": "大小",
    "小": "大小",
    "正": "正直",
    "直": "正直",
    "学": "学习",
    "桃": "桃花",
    "杏": "杏花",
    "柳": "柳树",
    "松": "松树",
    "柏": "松柏",
    "竹": "竹子",
    "兵": "士兵",
    "民": "人民",
    "泉": "泉水",
    "田": "田地",
    "土": "土地",
    "根": "树根",
    "有": "所有",
    "才": "人才",
    "发": "发展",
    "财": "发财",
    "禄": "福禄",
    "寿": "长寿",
}


@functools.lru_cache(maxsize=1)
def _dictionary_words() -> dict[str, str]:
    """For each character, the most frequent two-character word of jieba's dictionary."""
    import jieba

    best: dict[str, tuple[int, str]] = {}
    path = jieba.get_dict_file()
    with path as handle:
        for raw in handle:
            parts = raw.decode("utf-8").split()
            if len(parts) < 2 or len(parts[0]) != 2 or not parts[1].isdigit():
                continue
            word, frequency = parts[0], int(parts[1])
            for char in set(word):
                if frequency > best.get(char, (0, ""))[0]:
                    best[char] = (frequency, word)
    return {char: word for char, (_, word) in best.items()}


def character_word(char: str) -> str | None:
    """A common word with ``char`` in it, or None when even the dictionary has none."""
    return CHARACTER_WORDS.get(char) or _dictionary_words().get(char)


def describe_character(char: str) -> str:
    """桂 → 桂花的桂; a character without a word is said as itself."""
    word = character_word(char)
    return f"{word}的{char}" if word and word != char else char


def describe_name(name: str, heard: str = "") -> str:
    """The characters of ``name`` in words: "桂花的桂，兰花的兰".

    The given name is always described (that is where homophones hide); the surname only
    when it differs from what was heard, by its spelling where it has one (木子李).
    """
    parts = split_surname(name) or (name[:1], name[1:])
    surname, given = parts
    described: list[str] = []
    if heard and not heard.startswith(surname):
        described.append(
            SPELLING_OF_SURNAME.get(surname) or "，".join(describe_character(c) for c in surname)
        )
    described.extend(describe_character(c) for c in given)
    return "，".join(described)
