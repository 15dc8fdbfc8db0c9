"""Settings come from the environment only when asked, with the token from env or file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import DEFAULT_TOKEN_FILE, PROJECT_ROOT, Settings, get_settings

pytestmark = pytest.mark.usefixtures("clean_env")


def write_token_file(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "var" / "rasa_token"
    path.parent.mkdir()
    path.write_text(content, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    settings = Settings(rasa_token_file=tmp_path / "absent")
    assert settings.rasa_url == "http://127.0.0.1:5005"
    assert settings.action_server_url == "http://127.0.0.1:5055"
    assert settings.rasa_token is None
    assert settings.rasa_timeout_s == 30
    assert settings.max_message_chars == 2000
    assert settings.max_body_bytes == 16 * 1024
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000


def test_default_token_file_is_var_rasa_token_in_the_project() -> None:
    assert DEFAULT_TOKEN_FILE == PROJECT_ROOT / "var" / "rasa_token"
    assert (PROJECT_ROOT / "bot" / "settings.py").is_file()
    assert Settings.model_fields["rasa_token_file"].default == DEFAULT_TOKEN_FILE


def test_token_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RASA_TOKEN", "from-env")
    monkeypatch.setenv("GATEWAY_RASA_TOKEN_FILE", str(tmp_path / "absent"))
    assert get_settings().rasa_token_value() == "from-env"


def test_token_from_file_when_env_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_token_file(tmp_path, "from-file\n")
    monkeypatch.setenv("GATEWAY_RASA_TOKEN_FILE", str(path))
    assert get_settings().rasa_token_value() == "from-file"


def test_token_from_file_when_env_empty(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_token_file(tmp_path, "from-file")
    monkeypatch.setenv("RASA_TOKEN", "")
    monkeypatch.setenv("GATEWAY_RASA_TOKEN_FILE", str(path))
    assert get_settings().rasa_token_value() == "from-file"


def test_env_token_wins_over_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_token_file(tmp_path, "from-file")
    monkeypatch.setenv("RASA_TOKEN", "from-env")
    monkeypatch.setenv("GATEWAY_RASA_TOKEN_FILE", str(path))
    assert get_settings().rasa_token_value() == "from-env"


def test_empty_token_file_means_no_token(tmp_path: Path) -> None:
    path = write_token_file(tmp_path, "\n")
    assert Settings(rasa_token_file=path).rasa_token is None


def test_token_is_not_in_repr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RASA_TOKEN", "very-secret")
    assert "very-secret" not in repr(get_settings())


def test_gateway_prefix_and_bare_host_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("GATEWAY_RASA_URL", "http://rasa.local:5005/")
    monkeypatch.setenv("GATEWAY_MAX_MESSAGE_CHARS", "500")

    settings = get_settings()

    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.rasa_url == "http://rasa.local:5005"  # trailing slash dropped
    assert settings.max_message_chars == 500


def test_nothing_is_read_at_import_time(tmp_path: Path) -> None:
    # A fresh interpreter, so "import" really imports. With a broken GATEWAY_PORT,
    # importing every gateway module must work and only get_settings() may fail.
    env = {**os.environ, "GATEWAY_PORT": "not-a-number", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("RASA_TOKEN", None)
    imports = "import bot.settings, bot.hub, bot.rasa_client, channels.app, channels.__main__"
    check = [sys.executable, "-c"]

    imported = subprocess.run([*check, imports], env=env, capture_output=True, cwd=tmp_path)
    asked = subprocess.run(
        [*check, imports + "; bot.settings.get_settings()"],
        env=env,
        capture_output=True,
        cwd=tmp_path,
    )

    assert imported.returncode == 0, imported.stderr.decode()
    assert asked.returncode != 0
    assert b"port" in asked.stderr


def test_bad_url_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Settings(rasa_url="127.0.0.1:5005")
