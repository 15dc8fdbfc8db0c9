"""The dashboard's recording through the real stack (action server, Rasa with the trained
model, gateway): a service guide answered by the real bot (``custom.task_done`` from
actions/services.py) counts as solved by the bot alone, and babble the bot did not
understand (its fallback reply, recognised by the domain's text) waits in the review."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
import pytest

from bot.reports.figures import CHINA
from scripts.stack import Stack
from tests.app.admin_seed import SUPERVISOR, make_supervisor
from tests.app.handoff_kit import PASSWORD, sqlite_url

from .real_stack import running_stack, say, texts


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


def supervisor_headers(stack: Stack) -> dict[str, str]:
    url = sqlite_url(stack.config.var_dir / "gateway.db")
    with ThreadPoolExecutor(max_workers=1) as pool:  # its own event loop, beside pytest's
        pool.submit(make_supervisor, url, SUPERVISOR).result()
    response = httpx.post(
        f"{stack.config.gateway_url}/api/agent/login",
        json={"username": SUPERVISOR, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_a_service_answer_is_solved_and_babble_is_a_candidate(stack: Stack) -> None:
    solved = f"admin-{uuid.uuid4().hex[:8]}"
    answer = say(stack, solved, "俺想问问那个老年卡咋办")
    assert "敬老卡" in "".join(texts(answer)), answer
    assert any(
        (r.get("custom") or {}).get("task_done", {}).get("task") == "service_lookup" for r in answer
    ), answer

    missed = f"admin-{uuid.uuid4().hex[:8]}"
    babble = "".join(texts(say(stack, missed, "呃 那个 那个")))
    assert "没听清" in babble or "没太听明白" in babble, babble

    headers = supervisor_headers(stack)
    today = datetime.now(CHINA).date().isoformat()
    dashboard = httpx.get(
        f"{stack.config.gateway_url}/api/admin/dashboard",
        params={"start": today, "end": today},
        headers=headers,
        timeout=30,
    )
    assert dashboard.status_code == 200, dashboard.text
    total = dashboard.json()["charts"][0]["table"]["rows"][-1]["cells"]
    assert [total[0]["value"], total[1]["value"], total[2]["value"]] == [2, 1, 0]

    review = httpx.get(
        f"{stack.config.gateway_url}/api/admin/candidates", headers=headers, timeout=30
    ).json()
    assert [(c["text"], c["kind"]) for c in review["candidates"]] == [("呃 那个 那个", "fallback")]
