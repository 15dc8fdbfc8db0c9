"""Fetching the Vosk model with Vosk's own downloader, from a local stand-in for its host.

``vosk.MODEL_PRE_URL`` points at an HTTP server on 127.0.0.1 that serves a zip of the
Korean test model (as ``vosk-model-small-cn-0.22.zip`` is served by alphacephei.com):
whole, cut off halfway, or with flipped bytes. Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import vosk  # type: ignore[import-untyped]

from voice import asr
from voice.asr import ModelStore
from voice.errors import ASRUnavailable
from voice.model_download import prepare_model
from voice.settings import VoiceSettings

NAME = "vosk-model-small-ko-test"


@dataclass
class ModelHost:
    """The stand-in: what it serves next (`mode`) and which paths were asked for."""

    archive: Path
    url: str = ""
    mode: str = "whole"  # whole | truncated | corrupt | missing
    requests: list[str] = field(default_factory=list)


def _handler(host: ModelHost) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host.requests.append(self.path)
            if self.path != f"/{NAME}.zip" or host.mode == "missing":
                self.send_error(404)
                return
            size = host.archive.stat().st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            # Truncated: the promised length, half of it sent. Corrupt: all of it, with
            # 4 KiB flipped in the middle (inside a member: its CRC no longer matches).
            send = size // 2 if host.mode == "truncated" else size
            flip = range(size // 2, size // 2 + 4096) if host.mode == "corrupt" else range(0)
            with host.archive.open("rb") as source:
                sent = 0
                while sent < send:
                    chunk = bytearray(source.read(min(1 << 20, send - sent)))
                    for at in flip:
                        if sent <= at < sent + len(chunk):
                            chunk[at - sent] ^= 0xFF
                    self.wfile.write(chunk)
                    sent += len(chunk)
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def archive(ko_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Korean model as ``<NAME>/…`` in a zip, like the model host's archives."""
    path = tmp_path_factory.mktemp("host") / f"{NAME}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zipped:
        for file in sorted(ko_model.rglob("*")):
            zipped.write(file, f"{NAME}/{file.relative_to(ko_model)}")
    return path


@pytest.fixture
def model_host(archive: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelHost]:
    host = ModelHost(archive)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
    host.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # Vosk's download URL base, and its model list for good measure: both local now.
    monkeypatch.setattr(vosk, "MODEL_PRE_URL", host.url)
    monkeypatch.setattr(vosk, "MODEL_LIST_URL", f"{host.url}model-list.json")
    for proxy in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Vosk's cache folder for this test; the system one (/usr/share/vosk) is not looked at."""
    folder = tmp_path / ".cache" / "vosk"
    monkeypatch.setattr(asr, "_VOSK_CACHE_DIRS", (tmp_path / "share", folder))
    monkeypatch.setenv("HOME", str(tmp_path))  # vosk_cache_dir(): ~/.cache/vosk
    return folder


def settings() -> VoiceSettings:
    return VoiceSettings(vosk_model_name=NAME)


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def assert_cache_untouched(cache: Path) -> None:
    """No model, no archive, no staging folder: the next start sees what it saw before."""
    assert not cache.exists() or list(cache.iterdir()) == []


def test_download_puts_the_whole_model_in_vosks_cache(
    model_host: ModelHost, cache: Path, ko_model: Path
) -> None:
    result = prepare_model(settings())

    assert result.downloaded and result.path == cache / NAME, result.message
    assert model_host.requests == [f"/{NAME}.zip"]
    assert sorted(p.name for p in cache.iterdir()) == [NAME]  # no zip, no staging left
    assert files(cache / NAME) == files(ko_model)
    # The next start finds it and asks the host nothing.
    again = prepare_model(settings())
    assert (again.path, again.downloaded) == (cache / NAME, False)
    assert model_host.requests == [f"/{NAME}.zip"]
    # …and the gateway sees voice as available, from the cache.
    assert asr.availability(settings(), ModelStore())[0] is True


@pytest.mark.parametrize("mode", ["truncated", "corrupt", "missing"])
def test_a_bad_download_leaves_nothing_and_the_next_start_succeeds(
    model_host: ModelHost, cache: Path, mode: str
) -> None:
    model_host.mode = mode
    failed = prepare_model(settings())

    assert failed.path is None and not failed.downloaded
    assert "\n" not in failed.message
    assert "VOSK_MODEL_PATH" in failed.message
    assert_cache_untouched(cache)
    assert asr.availability(settings(), ModelStore())[0] is False

    model_host.mode = "whole"
    assert prepare_model(settings()).path == cache / NAME


def test_leftovers_of_a_killed_download_and_a_broken_copy_are_replaced(
    model_host: ModelHost, cache: Path
) -> None:
    (cache / f".{NAME}.x1y2.partial" / NAME / "am").mkdir(parents=True)
    (cache / NAME / "conf").mkdir(parents=True)  # half a model: no am/final.mdl

    result = prepare_model(settings())

    assert result.path == cache / NAME and result.downloaded
    assert sorted(p.name for p in cache.iterdir()) == [NAME]
    assert (cache / NAME / "am" / "final.mdl").is_file()


def test_no_host_says_in_one_line_how_to_provide_the_model(
    monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    from tests.app.fake_rasa import closed_port

    monkeypatch.setattr(vosk, "MODEL_PRE_URL", f"http://127.0.0.1:{closed_port()}/")
    result = prepare_model(settings())

    assert result.path is None
    assert "\n" not in result.message
    assert "VOSK_MODEL_PATH" in result.message and NAME in result.message
    assert_cache_untouched(cache)


def test_downloading_off_or_model_path_set_fetches_nothing(
    model_host: ModelHost, cache: Path, ko_model: Path
) -> None:
    off = prepare_model(VoiceSettings(vosk_model_name=NAME, vosk_download=False))
    assert off.path is None and "VOSK_MODEL_PATH" in off.message
    given = prepare_model(VoiceSettings(vosk_model_path=ko_model))
    assert given.path == ko_model and not given.downloaded
    assert model_host.requests == []


def test_the_gateways_first_use_download_is_as_safe(model_host: ModelHost, cache: Path) -> None:
    """Without `make run`, the gateway fetches the model on first use through the same code."""
    model_host.mode = "truncated"
    store = ModelStore()

    with pytest.raises(ASRUnavailable, match="could not download"):
        asyncio.run(store.get(settings()))
    assert_cache_untouched(cache)
