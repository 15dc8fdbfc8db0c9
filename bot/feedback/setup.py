"""Build the feedback parts from the settings (called by the composition root only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.bus.events import EventBus
from bot.feedback.cases import CaseDesk, CaseRules
from bot.feedback.deadlines import DeadlineWatch
from bot.feedback.flow import FeedbackRules, RatingFlow
from bot.feedback.working_time import load_calendar
from bot.settings import Settings
from bot.store.db import Database


@dataclass(frozen=True)
class FeedbackParts:
    """What the gateway keeps: the hub's hooks, the case desk, the deadline watch."""

    rules: FeedbackRules
    flow: RatingFlow
    cases: CaseDesk
    watch: DeadlineWatch


def feedback_rules(settings: Settings) -> FeedbackRules:
    """Deadlines and the rating window from the settings; reads the calendar file."""
    return FeedbackRules(
        rating_window=timedelta(seconds=settings.feedback_rating_window_s),
        cases=CaseRules(
            calendar=load_calendar(settings.feedback_calendar_file, settings.feedback_timezone),
            callback_working_days=settings.feedback_callback_working_days,
            fix_simple=timedelta(hours=settings.feedback_fix_simple_h),
            fix_complex=timedelta(hours=settings.feedback_fix_complex_h),
            warn_before=timedelta(seconds=settings.feedback_warn_before_s),
        ),
    )


def build_feedback(settings: Settings, database: Database, bus: EventBus) -> FeedbackParts:
    """All feedback parts, sharing one set of rules."""
    rules = feedback_rules(settings)
    return FeedbackParts(
        rules=rules,
        flow=RatingFlow(rules),
        cases=CaseDesk(database, bus, rules.cases),
        watch=DeadlineWatch(database, rules.cases.warn_before, settings.feedback_tick_s),
    )
