"""What residents hear about ratings and cases: one short sentence each, plain words."""

from __future__ import annotations

ASK_RATING = "请为这次服务打个分：非常满意、满意、基本满意、不满意、非常不满意，也可以说跳过。"
ASK_REASON = "对不起。哪里不满意？"
THANKS = "谢谢您的评价！"
THANKS_BAD = "谢谢您告诉我们。工作人员会尽快联系您。"
SKIPPED = "好的，不评了。"
NOTHING_TO_RATE = "现在没有要评价的服务。"
SKIP_WORD = "跳过"


def result_told(resolution: str) -> str:
    """The case's result as the resident hears it on their channel."""
    return f"您上次的意见我们处理好了：{resolution}"


ASK_FOLLOWUP = "这次处理您满意吗？可以说非常满意、满意、基本满意、不满意或非常不满意。"
