"""Speech synthesis: pyttsx3 with espeak-ng's Mandarin voice, in an isolated worker process.

- `speakable_text` rewrites ID numbers (18 characters) and mobile numbers (11 digits) into
  Chinese digit words read one by one, in groups with a pause between them (6-8-4 and
  3-4-4), with 幺 for 1 and 叉 for X as Chinese phone readers say them.
- `words_per_minute` maps the conversation's ``speech_rate`` (1.0 normal ... 0.5 slowest)
  to espeak's rate.
- `TTSWorker` owns one child process (``python -m voice.tts_worker``) and talks to it over
  a socket with a timeout; a timeout or a failed call kills the child and the next call starts
  a fresh one. Blocking, thread-safe.
- `Synthesizer` is the async face: it runs the worker off the event loop and keeps an LRU
  cache of fixed prompts (keyed by text and rate). Text containing personal numbers is
  never cached.
- `availability()` says, cheaply, whether speech output can work, and why not.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes.util
import importlib.util
import itertools
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from voice.audio import read_wav
from voice.errors import AudioError, TTSError, TTSUnavailable, VoiceErrorCode
from voice.events import SpeechAudio
from voice.settings import VoiceSettings, get_voice_settings
from voice.tts_worker import SynthReply, SynthRequest, WorkerReady

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

MIN_WPM = 80  # espeak's slowest
MAX_WPM = 450
MIN_RATE, MAX_RATE = 0.5, 2.0
CACHE_MAX_TEXT = 120  # characters: prompts, not whole answers
WORKER_START_TIMEOUT_S = 30.0
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder that holds voice/

DIGIT_WORDS = {
    "0": "零",
    "1": "幺",
    "2": "二",
    "3": "三",
    "4": "四",
    "5": "五",
    "6": "六",
    "7": "七",
    "8": "八",
    "9": "九",
    "X": "叉",
    "x": "叉",
}
GROUP_PAUSE = "，"
# Separators people and the bot's read-back put between groups ("110105，19491001，0031").
_SEP = r"[ \t\-－,，、]?"
# ASCII digits only ([0-9], not \d, which also matches other scripts' digits); full-width
# ones are made ASCII first.
_ID_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z])([0-9]{{6}}){_SEP}([0-9]{{8}}){_SEP}([0-9]{{3}}[0-9Xx])(?![0-9A-Za-z])"
)
_PHONE_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z])(1[0-9]{{2}}){_SEP}([0-9]{{4}}){_SEP}([0-9]{{4}})(?![0-9A-Za-z])"
)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


_PUNCT = "。！？：；，、,.!?:;"
_PAUSE_BEFORE_PUNCT = re.compile(rf"\s*{GROUP_PAUSE}+\s*(?=[{_PUNCT}])")
_PAUSE_AFTER_PUNCT = re.compile(rf"(?<=[{_PUNCT}])\s*{GROUP_PAUSE}+")


def _digits(group: str) -> str:
    return "".join(DIGIT_WORDS[c] for c in group)


def _groups(match: re.Match[str]) -> str:
    return GROUP_PAUSE + GROUP_PAUSE.join(_digits(g) for g in match.groups()) + GROUP_PAUSE


def speakable_text(text: str) -> str:
    """``text`` with ID and mobile numbers spelled as grouped Chinese digit words.

    "身份证110105194910010031。" -> "身份证，幺幺零幺零五，幺九四九幺零零幺，零零三幺。"
    """
    text = text.translate(_FULL_WIDTH)
    text = _PHONE_NUMBER.sub(_groups, _ID_NUMBER.sub(_groups, text))
    # One pause mark where ours meets other punctuation or the ends of the text.
    text = re.sub(rf"\s+{GROUP_PAUSE}", GROUP_PAUSE, text)
    text = _PAUSE_BEFORE_PUNCT.sub("", text)
    text = _PAUSE_AFTER_PUNCT.sub("", text)
    return text.strip(GROUP_PAUSE + " ")


def has_personal_numbers(text: str) -> bool:
    text = text.translate(_FULL_WIDTH)
    return bool(_ID_NUMBER.search(text) or _PHONE_NUMBER.search(text))


def words_per_minute(speech_rate: float, base_wpm: int) -> int:
    """espeak's rate for a ``speech_rate`` factor (clamped to 0.5 ... 2.0)."""
    factor = min(max(float(speech_rate), MIN_RATE), MAX_RATE)
    return min(max(round(base_wpm * factor), MIN_WPM), MAX_WPM)


def find_espeak_library() -> str | None:
    return ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak")


def availability(settings: VoiceSettings | None = None) -> tuple[bool, str]:
    """``(usable, reason)`` without starting the worker: are pyttsx3 and libespeak-ng here?"""
    settings = settings or get_voice_settings()
    if importlib.util.find_spec("pyttsx3") is None:
        return False, "the pyttsx3 package is not installed"
    library = find_espeak_library()
    if library is None:
        return False, (
            "libespeak-ng is not installed (Debian: apt-get install espeak-ng libespeak-ng1)"
        )
    return True, f"pyttsx3 with {library}, voice {settings.tts_voice}"


class TTSWorker:
    """One pyttsx3 child process, restarted after a timeout or failure. Thread-safe."""

    def __init__(self, voice: str, *, start_timeout_s: float = WORKER_START_TIMEOUT_S) -> None:
        self.voice = voice
        self.start_timeout_s = start_timeout_s
        self.starts = 0  # processes started so far (restarts = starts - 1)
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._unavailable: str | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def unavailable_reason(self) -> str | None:
        """Why the engine could not start (missing voice, broken espeak), once known."""
        return self._unavailable

    def start(self) -> None:
        with self._lock:
            self._ensure_started()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def synthesize(self, text: str, words_per_minute: int, timeout_s: float) -> bytes:
        """WAV bytes for ``text``. `TTSError` (``tts_timeout``) kills the worker; a failed or
        empty synthesis restarts it and retries once, since that is pyttsx3's usual glitch."""
        with self._lock:
            for attempt in (1, 2):
                self._ensure_started()
                try:
                    return self._request(text, words_per_minute, timeout_s)
                except TTSError as err:
                    self._stop()
                    if err.code is VoiceErrorCode.TTS_TIMEOUT or attempt == 2:
                        raise
                    logger.warning("TTS worker failed (%s); restarting it", err.reason)
            raise AssertionError("unreachable")

    # -- internals, called with the lock held

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None and self._conn is not None:
            return
        self._stop()
        parent_sock, child_sock = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
        )
        fd = child_sock.fileno()
        command = [sys.executable, "-m", "voice.tts_worker", "--voice", self.voice, "--fd", str(fd)]
        try:
            process = subprocess.Popen(
                command,
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                cwd=str(_PACKAGE_ROOT),
            )
        except OSError as err:
            parent_sock.close()
            raise TTSUnavailable(reason=f"cannot start the TTS worker: {err}") from err
        finally:
            child_sock.close()
        conn = Connection(parent_sock.detach())
        self.starts += 1
        self._process, self._conn = process, conn
        if not conn.poll(self.start_timeout_s):
            self._stop()
            raise TTSUnavailable(reason=f"TTS worker did not start in {self.start_timeout_s} s")
        try:
            ready = conn.recv()
        except Exception as err:  # EOF: it died; anything else: it spoke nonsense
            self._stop()
            raise TTSUnavailable(reason=f"TTS worker failed while starting: {err!r}") from err
        if not isinstance(ready, WorkerReady) or ready.error is not None:
            reason = ready.error if isinstance(ready, WorkerReady) else repr(ready)
            self._unavailable = f"pyttsx3/espeak-ng with voice {self.voice!r}: {reason}"
            self._stop()
            raise TTSUnavailable(reason=self._unavailable)
        self._unavailable = None
        logger.info("TTS worker started (pid %s, voice %s)", process.pid, self.voice)

    def _request(self, text: str, wpm: int, timeout_s: float) -> bytes:
        assert self._conn is not None
        request_id = next(self._ids)
        try:
            self._conn.send(SynthRequest(request_id, text, wpm))
            while True:
                if not self._conn.poll(timeout_s):
                    raise TTSError(
                        VoiceErrorCode.TTS_TIMEOUT, reason=f"no audio after {timeout_s} s"
                    )
                reply = self._conn.recv()
                if isinstance(reply, SynthReply) and reply.request_id == request_id:
                    break
        except TTSError:
            raise
        except Exception as err:  # EOF/broken pipe: it died; unpickling errors: garbage
            raise TTSError(reason=f"TTS worker went away: {err!r}") from err
        if reply.error is not None:
            raise TTSError(reason=f"pyttsx3 failed: {reply.error}")
        if not reply.wav:
            raise TTSError(reason="pyttsx3 wrote no audio")
        return reply.wav

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            try:
                process.wait(timeout=0.5)  # exits by itself once its socket is closed
            except subprocess.TimeoutExpired:
                process.kill()  # hung inside espeak: SIGKILL, it holds nothing to flush
                process.wait(timeout=5)


class Synthesizer:
    """Async speech synthesis with a prompt cache. One per process is enough."""

    def __init__(self, settings: VoiceSettings | None = None, *, worker: TTSWorker | None = None):
        self.settings = settings or get_voice_settings()
        self.worker = worker or TTSWorker(self.settings.tts_voice)
        self.cache_hits = 0
        self.cache_misses = 0
        self._cache: OrderedDict[tuple[str, int], SpeechAudio] = OrderedDict()
        # One thread: the worker handles one request at a time anyway, and waiting callers
        # queue here instead of occupying the event loop's default thread pool.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")

    def availability(self) -> tuple[bool, str]:
        if self.worker.unavailable_reason is not None:
            return False, self.worker.unavailable_reason
        return availability(self.settings)

    async def start(self) -> None:
        """Start the worker now (at gateway start) rather than on the first reply."""
        self._check_available()
        await self._run(self.worker.start)

    def shutdown(self) -> None:
        """Stop the worker process (blocking: for synchronous teardown)."""
        self.worker.close()
        self._executor.shutdown(wait=False)

    async def close(self) -> None:
        """Stop the worker process without blocking the event loop (gateway shutdown)."""
        await asyncio.to_thread(self.shutdown)

    async def synthesize(self, text: str, speech_rate: float = 1.0) -> SpeechAudio:
        """The reply spoken at ``speech_rate``, as a complete WAV file."""
        text = text.strip()
        if not text:
            raise TTSError(reason="nothing to say")
        if len(text) > self.settings.tts_max_chars:
            raise TTSError(
                VoiceErrorCode.TTS_TEXT_TOO_LONG,
                reason=f"{len(text)} characters > limit {self.settings.tts_max_chars}",
            )
        wpm = words_per_minute(speech_rate, self.settings.tts_base_wpm)
        key = (text, wpm)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return cached
        self.cache_misses += 1
        if not self.worker.running:
            self._check_available()
        spoken = speakable_text(text)
        wav = await self._run(self.worker.synthesize, spoken, wpm, self.settings.tts_timeout_s)
        try:
            info = read_wav(wav)
        except AudioError as err:
            raise TTSError(reason=f"pyttsx3 wrote an invalid WAV: {err.reason}") from err
        audio = SpeechAudio(text, wav, info.sample_rate, info.duration, speech_rate)
        if self._cacheable(text):
            self._cache[key] = audio
            while len(self._cache) > self.settings.tts_cache_size:
                self._cache.popitem(last=False)
        return audio

    def _cacheable(self, text: str) -> bool:
        # Only fixed prompts: short, and with no ID or phone number in them (privacy).
        return (
            self.settings.tts_cache_size > 0
            and len(text) <= CACHE_MAX_TEXT
            and not has_personal_numbers(text)
        )

    def _check_available(self) -> None:
        ok, reason = self.availability()
        if not ok:
            raise TTSUnavailable(reason=reason)

    async def _run(self, func: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, *args)


_shared: Synthesizer | None = None
_shared_lock = threading.Lock()


def shared_synthesizer() -> Synthesizer | None:
    """The process's one `Synthesizer` (one worker process is enough), made on first use.

    None where speech output cannot work at all; callers then send text only. Every channel
    that speaks (kiosk, web chat's listen button, Telegram voice notes) shares it.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            try:
                _shared = Synthesizer()
            except Exception:  # no TTS on this machine: replies are text only
                logger.exception("speech synthesis unavailable")
                return None
            atexit.register(_shared.shutdown)
        return _shared
