"""Getting the Vosk model onto this machine before the gateway starts (`make run`).

Without a model the kiosk says voice is off, so `scripts.stack` calls `prepare_model`
first: a model already found (``VOSK_MODEL_PATH`` or Vosk's cache folders) is used as it
is; otherwise Vosk's own downloader (``vosk.Model.download_model``: urllib from
``vosk.MODEL_PRE_URL``, a tqdm progress bar, unzip) fetches ``<name>.zip`` into Vosk's cache
(``~/.cache/vosk``), where the gateway's `voice.asr.locate_model` and Vosk itself look.

A download never leaves half a model behind: Vosk downloads and unpacks into a hidden
staging folder beside the cache entry (``.<name>.<random>.partial``, a name Vosk and
`locate_model` never match), and only a complete model (every member's CRC checked
while unpacking, ``am/final.mdl`` present) is renamed into place, in one step. A truncated
or corrupt archive, a server error or Ctrl-C leave the cache as it was.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import tempfile
import urllib.error
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.asr import locate_model, looks_like_model
from voice.errors import ASRUnavailable
from voice.settings import VoiceSettings

logger = logging.getLogger(__name__)

# Seconds a stalled connection may stay silent; urllib has no timeout of its own.
DOWNLOAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ModelPreparation:
    """What `prepare_model` found or did, with one line for the operator."""

    path: Path | None  # the model folder; None when voice input will be off
    downloaded: bool
    message: str


class ModelDownloadError(Exception):
    """The model could not be fetched; the message says why, in one line."""


def vosk_cache_dir() -> Path:
    """Where Vosk's ``Model(model_name=...)`` downloads to (the last of its MODEL_DIRS)."""
    return Path.home() / ".cache" / "vosk"


def how_to_provide(settings: VoiceSettings) -> str:
    """The one line for machines without internet."""
    name = settings.vosk_model_name
    return (
        f"to use voice without internet, unpack {name}.zip (from "
        f"https://alphacephei.com/vosk/models/) anywhere and set VOSK_MODEL_PATH to that folder"
    )


def prepare_model(settings: VoiceSettings, cache_dir: Path | None = None) -> ModelPreparation:
    """Find the model, or download it into Vosk's cache where the internet is reachable."""
    cache = cache_dir if cache_dir is not None else vosk_cache_dir()
    name = settings.vosk_model_name
    try:
        found = locate_model(settings)
    except ASRUnavailable as err:  # VOSK_MODEL_PATH set, but no model there
        return ModelPreparation(None, False, f"voice input off: {err.reason}")
    if found is None and looks_like_model(cache / name):
        found = cache / name
    if found is not None:
        return ModelPreparation(found, False, f"Vosk model: {found}")
    if not settings.vosk_download:
        return ModelPreparation(
            None,
            False,
            f"voice input off: Vosk model {name} is not here and downloading is off "
            f"(VOICE_VOSK_DOWNLOAD=false); {how_to_provide(settings)}",
        )
    logger.info("downloading the Vosk model %s into %s (once) …", name, cache)
    try:
        path = download_model(name, cache)
    except ModelDownloadError as err:
        return ModelPreparation(None, False, f"voice input off: {err}; {how_to_provide(settings)}")
    return ModelPreparation(path, True, f"Vosk model downloaded: {path}")


def download_model(name: str, cache_dir: Path) -> Path:
    """``<cache_dir>/<name>``, complete, fetched with Vosk's downloader; `ModelDownloadError`."""
    import vosk  # type: ignore[import-untyped]  # the app env has it; imported only here

    target = cache_dir / name
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(name, cache_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=cache_dir))
    url = f"{vosk.MODEL_PRE_URL}{name}.zip"
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            _VoskDownloader(vosk).download_model(staging / name)
        if not looks_like_model(staging / name):
            raise ModelDownloadError(f"{url} holds no Vosk model named {name}")
        if target.exists():  # a broken copy (locate_model found no model there)
            logger.warning("replacing the incomplete Vosk model at %s", target)
            shutil.rmtree(target)
        (staging / name).rename(target)
    except ModelDownloadError:
        raise
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as err:
        # OSError covers URLError, HTTPError, ContentTooShortError and socket timeouts.
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        raise ModelDownloadError(
            f"could not download {url}: {type(err).__name__}: {reason}"
        ) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class _VoskDownloader:
    """Just enough of a `vosk.Model` to run its `download_model` without loading a model.

    `Model.download_model` only uses ``self`` for its progress hook; a real `Model` would
    need a model to exist (and its ``__del__`` frees a native handle).
    """

    def __init__(self, vosk: Any) -> None:
        self._model_class = vosk.Model

    def download_model(self, path: Path) -> None:
        cls = self._model_class
        cls.download_model(self, path)

    def download_progress_hook(self, bar: Any) -> Any:
        return self._model_class.download_progress_hook(self, bar)


def _remove_leftovers(name: str, cache_dir: Path) -> None:
    """Staging folders of a download that was killed (SIGKILL, power cut)."""
    for leftover in cache_dir.glob(f".{name}.*.partial"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """urllib.request.urlretrieve takes no timeout; this runs before any server starts."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)
