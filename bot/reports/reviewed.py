"""Export of the accepted examples to Rasa 3 NLU YAML (``data/nlu/reviewed.yml``).

The file is regenerated whole from the database on every export: accepted candidates,
oldest first, one entry per example with a comment above it saying who accepted it,
when, and from which conversation turn (ids, nothing personal), so a reader of the
training data can trace every line back to a person's decision. With nothing accepted no
file is written (an absent file is what training and ``rasa data validate`` expect then).
`scripts/model_cache.py` hashes everything under ``data/``, so the next ``make train``
retrains with the new examples. The file is written next to itself and renamed, so
training never reads half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.reports.figures import CHINA
from bot.reports.nlu_yaml import ReviewedExample, render
from bot.reports.recording import CandidateStatus
from bot.store.models import Agent, TrainingCandidate


async def accepted_examples(session: AsyncSession) -> list[ReviewedExample]:
    """Every accepted candidate, in the order they were accepted."""
    rows = await session.execute(
        select(TrainingCandidate, Agent.username)
        .outerjoin(Agent, Agent.id == TrainingCandidate.reviewed_by)
        .where(TrainingCandidate.status == CandidateStatus.ACCEPTED.value)
        .order_by(TrainingCandidate.reviewed_at, TrainingCandidate.id)
    )
    examples = []
    for candidate, username in rows:
        reviewed_at = candidate.reviewed_at
        assert candidate.intent is not None and reviewed_at is not None
        examples.append(
            ReviewedExample(
                candidate_id=candidate.id,
                intent=candidate.intent,
                text=candidate.text,
                reviewer=username or "?",
                reviewed_on=reviewed_at.astimezone(CHINA).date(),
                conversation_id=candidate.conversation_id,
                message_id=candidate.message_id,
            )
        )
    return examples


def write_reviewed(path: Path, examples: list[ReviewedExample]) -> bool:
    """Write `examples` to `path` atomically; with none, write nothing (returns whether written)."""
    if not examples:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render(examples))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True
