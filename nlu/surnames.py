"""Chinese surnames, and the ways people spell one out on the phone.

A name is read by its surname first: 1 or 2 characters from this list, then 1 or 2 given
characters. The list is the 百家姓 (with the compound surnames) plus common modern ones,
less the few surnames that are far more often ordinary words at the start of an answer
(那, 能, 都, 和, 要 …): a resident who says "那个…" is not Mr 那. Plain Python, shared by
the NLU pipeline and the action server.
"""

from __future__ import annotations

SINGLE_SURNAMES: frozenset[str] = frozenset(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章"
    "云苏潘葛奚范彭郎鲁韦昌马苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常"
    "乐于时傅皮卞齐康伍余元卜顾孟平黄穆萧尹姚邵湛汪祁毛禹狄米贝明臧计伏成戴谈宋茅庞"
    "熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍"
    "虞万支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁"
    "荀羊於惠甄曲家封芮羿储靳汲邴糜松井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫"
    "宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿白怀蒲邰鄂索咸籍赖卓蔺屠蒙"
    "池乔阴郁胥苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍却璩桑桂濮牛寿通边扈燕冀郏浦尚农"
    "温别庄晏柴瞿阎充慕连茹习宦艾鱼容古易慎戈廖庾终暨居衡步耿满弘匡国文寇广禄阙东"
    "欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚简饶空曾沙乜养鞠须丰巢关蒯相查荆红游竺"
    "权逯盖益桓公岳帅缑亢况郈琴商牟佘佴伯赏墨谯笪年阳佟归海言福"
    "付肖闫谌揭覃邝粟练蒲邸"
)

COMPOUND_SURNAMES: frozenset[str] = frozenset(
    {
        *("万俟", "司马", "上官", "欧阳", "夏侯", "诸葛", "闻人", "东方", "赫连", "皇甫"),
        *("尉迟", "公羊", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔", "申屠"),
        *("公孙", "仲孙", "轩辕", "令狐", "钟离", "宇文", "长孙", "慕容", "鲜于", "闾丘"),
        *("司徒", "司空", "亓官", "司寇", "子车", "颛孙", "端木", "巫马", "公西", "漆雕"),
        *("乐正", "壤驷", "公良", "拓跋", "夹谷", "宰父", "谷梁", "段干", "百里", "东郭"),
        *("南门", "呼延", "羊舌", "微生", "梁丘", "左丘", "东门", "西门", "南宫", "第五"),
    }
)

# How a surname is spelt out by its parts ("木子李") — said by residents, and said back
# by the bot when it describes a registered name.
SURNAME_SPELLINGS: dict[str, str] = {
    "木子李": "李",
    "十八子李": "李",
    "弓长张": "张",
    "立早章": "章",
    "耳东陈": "陈",
    "口天吴": "吴",
    "草头黄": "黄",
    "草头王": "黄",
    "三横王": "王",
    "双木林": "林",
    "古月胡": "胡",
    "言午许": "许",
    "双口吕": "吕",
    "人可何": "何",
    "禾口程": "程",
    "木易杨": "杨",
    "子小孙": "孙",
    "关耳郑": "郑",
    "言身寸谢": "谢",
    "走肖赵": "赵",
    "文刀刘": "刘",
    "羊女姜": "姜",
    "金中钟": "钟",
    "口十叶": "叶",
    "三点水沈": "沈",
    "禾火秋": "秋",
    "女兆姚": "姚",
    "木公松": "松",
    "人王全": "全",
    "宝盖宋": "宋",
    "赤耳郝": "郝",
}

# The first spelling of each surname is the one the bot says.
SPELLING_OF_SURNAME: dict[str, str] = {}
for _spelling, _surname in SURNAME_SPELLINGS.items():
    SPELLING_OF_SURNAME.setdefault(_surname, _spelling)


def split_surname(name: str) -> tuple[str, str] | None:
    """(surname, given name) of a name of 2 to 4 characters, or None if it does not look like one.

    A compound surname is preferred (欧阳秀英 is 欧阳 + 秀英, not 欧 + 阳秀英).
    """
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    if 2 <= len(name) <= 3 and name[0] in SINGLE_SURNAMES:
        return name[0], name[1:]
    return None
