"""Streaming speech recognition with Vosk: one shared model per process, a recogniser per session.

- `ModelStore` loads the Vosk model once per process (lazily, an `asyncio.Lock` per event
  loop in front of a thread lock, so concurrent sessions wait for one load) and owns the
  worker threads every blocking Vosk call runs in: the event loop never waits on Kaldi.
- `RecognizerSession` is one speaker's stream: `feed` 16 kHz mono PCM frames and get
  `Transcript` events (partials while speaking, a final at each endpoint), `finish` for
  the last final. The Vosk recogniser is created on the first frame.
- A grammar-restricted mode (`set_grammar`, `Grammar`) for answers the bot expects: yes/no,
  a number, one of a few options (`voice.expectations` maps the bot's ``expect`` to one).
  Words the model does not know are dropped with a warning; ``[unk]`` is always added so
  out-of-grammar speech does not become a false match, and an utterance that comes out as
  nothing but ``[unk]`` is decoded again without the grammar (its audio is kept while a
  grammar is on), so the person who answers something unexpected is still heard. A model
  without ``[unk]`` in its vocabulary (the Korean test model) would force any speech into
  a grammar word, so such a grammar is refused (free speech, a warning) unless the
  session is made with ``require_unk=False``.
- `availability()` says, without loading anything or touching the network, whether voice
  input can work, and why not.

Model location: ``VOSK_MODEL_PATH`` (a model folder, or a folder holding
``<vosk_model_name>/``), otherwise Vosk's cache folders; a model found nowhere is fetched
into Vosk's cache by Vosk's downloader through `voice.model_download` (complete or not at
all) where the internet is reachable (see ``voice.settings``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from voice.audio import BYTES_PER_SECOND, SAMPLE_RATE, check_pcm_frame
from voice.errors import ASRError, ASRUnavailable, VoiceError
from voice.events import Transcript, WordInfo
from voice.settings import VoiceSettings, get_voice_settings

logger = logging.getLogger(__name__)

UNK = "[unk]"
LOAD_RETRY_AFTER_S = 60.0  # a failed model load is retried by the next session after this
_T = TypeVar("_T")

# Where Vosk's Model(model_name=...) looks before downloading (vosk/__init__.py, 0.3.45).
_VOSK_CACHE_DIRS = (Path("/usr/share/vosk"), Path.home() / ".cache" / "vosk")

_ENDPOINTER_MODES = {"default": 0, "short": 1, "long": 2, "very_long": 3}

# Chinese answers the bot often expects; filtered against the model's vocabulary at use.
YES_NO_PHRASES = (
    "是",
    "是的",
    "对",
    "对的",
    "好",
    "好的",
    "可以",
    "没错",
    "不是",
    "不对",
    "不",
    "不要",
    "没有",
    "不行",
)
NUMBER_WORDS = (
    "零",
    "洞",
    "幺",
    "一",
    "二",
    "两",
    "三",
    "四",
    "五",
    "六",
    "七",
    "八",
    "九",
    "十",
    "百",
    "千",
    "万",
    "叉",
)


@dataclass(frozen=True, slots=True)
class Grammar:
    """Phrases the recogniser may return instead of free speech."""

    phrases: tuple[str, ...]

    @classmethod
    def yes_no(cls) -> Grammar:
        return cls(YES_NO_PHRASES)

    @classmethod
    def numbers(cls) -> Grammar:
        """Spoken digits and number words (an ID or phone number said digit by digit)."""
        return cls(NUMBER_WORDS)

    @classmethod
    def choice(cls, options: Iterable[str]) -> Grammar:
        return cls(tuple(options))


# ----------------------------------------------------------------------------- model


def looks_like_model(path: Path) -> bool:
    """A Vosk model folder: its acoustic model is there (newer layout am/, older flat)."""
    return (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()


def locate_model(settings: VoiceSettings) -> Path | None:
    """The local model folder, None if Vosk must fetch it by name; `ASRUnavailable` if the
    configured ``VOSK_MODEL_PATH`` holds no model. Never touches the network."""
    name = settings.vosk_model_name
    if settings.vosk_model_path is not None:
        root = settings.vosk_model_path.expanduser()
        if not root.is_dir():
            raise ASRUnavailable(reason=f"VOSK_MODEL_PATH {root} is not a folder")
        for candidate in (root, root / name):
            if looks_like_model(candidate):
                return candidate
        raise ASRUnavailable(
            reason=f"no Vosk model in VOSK_MODEL_PATH {root} (expected am/final.mdl there "
            f"or in {name}/)"
        )
    for folder in _VOSK_CACHE_DIRS:
        if looks_like_model(folder / name):
            return folder / name
    return None


def _import_vosk() -> Any:
    try:
        import vosk  # type: ignore[import-untyped]
    except (ImportError, OSError) as err:  # OSError: libvosk.so failed to load
        raise ASRUnavailable(reason=f"the vosk package cannot be imported: {err}") from err
    return vosk


class ModelStore:
    """Vosk models loaded in this process, by location, and the threads that run Vosk."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self._failures: dict[str, tuple[float, str]] = {}  # key -> (monotonic time, reason)
        self._thread_lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._loop_locks = weakref.WeakKeyDictionary()
        self._executor: ThreadPoolExecutor | None = None

    @staticmethod
    def _key(settings: VoiceSettings) -> str:
        if settings.vosk_model_path is not None:
            return f"path:{settings.vosk_model_path.expanduser().resolve()}"
        return f"name:{settings.vosk_model_name}"

    def executor(self, settings: VoiceSettings) -> ThreadPoolExecutor:
        """Threads for blocking Vosk calls, shared by all sessions (first caller sizes it)."""
        with self._thread_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=settings.asr_threads, thread_name_prefix="vosk"
                )
            return self._executor

    async def run(self, settings: VoiceSettings, func: Callable[..., _T], *args: Any) -> _T:
        """``func(*args)`` in a Vosk worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor(settings), functools.partial(func, *args))

    def loaded(self, settings: VoiceSettings) -> Any | None:
        return self._models.get(self._key(settings))

    def availability(self, settings: VoiceSettings) -> tuple[bool, str]:
        key = self._key(settings)
        if key in self._models:
            return True, f"Vosk model loaded ({key})"
        if key in self._failures:
            return False, self._failures[key][1]
        try:
            _import_vosk()
            path = locate_model(settings)
        except ASRUnavailable as err:
            return False, err.reason or err.message
        if path is not None:
            return True, f"Vosk model found at {path} (loaded on first use)"
        where = ", ".join(str(d) for d in _VOSK_CACHE_DIRS)
        hint = (
            "Vosk downloads it on first use where the internet is reachable"
            if settings.vosk_download
            else "downloading is off (VOICE_VOSK_DOWNLOAD=false)"
        )
        return False, (
            f"Vosk model {settings.vosk_model_name} is not on this machine (VOSK_MODEL_PATH "
            f"unset; looked in {where}); {hint}"
        )

    async def get(self, settings: VoiceSettings) -> Any:
        """The loaded model (loading it once if needed), or `ASRUnavailable`."""
        key = self._key(settings)
        model = self._models.get(key)
        if model is not None:
            return model
        loop = asyncio.get_running_loop()
        lock = self._loop_locks.get(loop)
        if lock is None:
            lock = self._loop_locks[loop] = asyncio.Lock()
        async with lock:
            model = self._models.get(key)  # loaded while we waited
            if model is not None:
                return model
            failed = self._failures.get(key)
            if failed is not None and time.monotonic() - failed[0] < LOAD_RETRY_AFTER_S:
                # Do not retry a failed load (maybe a download attempt) for every session.
                raise ASRUnavailable(reason=failed[1])
            return await self.run(settings, self._load_sync, settings)

    def forget_failure(self, settings: VoiceSettings) -> None:
        """Let the next `get` try again (after an operator fixed the model folder)."""
        self._failures.pop(self._key(settings), None)

    def _load_sync(self, settings: VoiceSettings) -> Any:
        key = self._key(settings)
        with self._thread_lock:  # another event loop or thread may be loading it too
            if key in self._models:
                return self._models[key]
            try:
                model = self._load_model(settings)
            except ASRUnavailable as err:
                self._failures[key] = (time.monotonic(), err.reason or err.message)
                logger.warning("voice input unavailable: %s", err.reason)
                raise
            self._failures.pop(key, None)
            self._models[key] = model
            return model

    @staticmethod
    def _load_model(settings: VoiceSettings) -> Any:
        vosk = _import_vosk()
        vosk.SetLogLevel(-1)  # Kaldi's LOG lines; warnings and errors still show
        path = locate_model(settings)
        if path is None and not settings.vosk_download:
            raise ASRUnavailable(
                reason=f"Vosk model {settings.vosk_model_name} is not on this machine and "
                "downloading is off; set VOSK_MODEL_PATH"
            )
        if path is None:
            # Not `vosk.Model(model_name=...)`: Vosk unpacks straight into its cache, so a
            # cut-off download there leaves half a model that every later start trips on.
            from voice.model_download import ModelDownloadError, download_model, vosk_cache_dir

            try:
                path = download_model(settings.vosk_model_name, vosk_cache_dir())
            except ModelDownloadError as err:
                raise ASRUnavailable(reason=str(err)) from err
        try:
            logger.info("loading Vosk model from %s", path)
            return vosk.Model(str(path))
        except Exception as err:
            raise ASRUnavailable(
                reason=f"Vosk model {path} could not be loaded: {type(err).__name__}: {err}"
            ) from err


_default_store = ModelStore()


def default_store() -> ModelStore:
    """The process-wide store: one model per process, shared by every session."""
    return _default_store


def availability(
    settings: VoiceSettings | None = None, store: ModelStore | None = None
) -> tuple[bool, str]:
    """``(usable, reason)`` for ``/health`` and the kiosk; cheap, no loading, no network."""
    return (store or _default_store).availability(settings or get_voice_settings())


async def preload(settings: VoiceSettings | None = None, store: ModelStore | None = None) -> None:
    """Load the model now (at gateway start) instead of on the first spoken word."""
    await (store or _default_store).get(settings or get_voice_settings())


# ----------------------------------------------------------------------------- grammar


def _find_word(model: Any) -> Callable[[str], bool] | None:
    """``known(word)`` from the model's vocabulary lookup (its name differs across vosk)."""
    lookup = getattr(model, "find_word", None) or getattr(model, "vosk_model_find_word", None)
    if not callable(lookup):
        return None
    find: Callable[[str], Any] = lookup

    def known(word: str) -> bool:
        return int(find(word)) >= 0

    return known


def model_knows_unk(model: Any) -> bool:
    """Whether the model has the ``[unk]`` word a grammar needs as its fallback (a model
    that cannot look words up is trusted)."""
    known = _find_word(model)
    return known is None or known(UNK)


def _segment(phrase: str, known: Callable[[str], bool], longest: int = 6) -> list[str] | None:
    """Greedy longest-match split of an unspaced Chinese phrase into known words."""
    words: list[str] = []
    i = 0
    while i < len(phrase):
        for j in range(min(len(phrase), i + longest), i, -1):
            if known(phrase[i:j]):
                words.append(phrase[i:j])
                i = j
                break
        else:
            return None
    return words


def filter_grammar(model: Any, phrases: Sequence[str]) -> list[str]:
    """The phrases the model can recognise, in Vosk's grammar form, plus ``[unk]``.

    A spaced phrase must consist of known words; an unspaced one ("不对") that is not a word
    itself is split into known words ("不 对"). Others are dropped with a warning. A model
    without a vocabulary lookup keeps every phrase (Vosk then ignores unknown words itself).
    """
    known = _find_word(model)
    kept: list[str] = []
    dropped: list[str] = []
    for raw in phrases:
        phrase = " ".join(raw.split())
        if not phrase or phrase == UNK:
            continue
        if known is None:
            kept.append(phrase)
            continue
        tokens = phrase.split(" ")
        if all(known(t) for t in tokens):
            kept.append(phrase)
        elif len(tokens) == 1 and (split := _segment(phrase, known)) is not None:
            kept.append(" ".join(split))
        else:
            dropped.append(phrase)
    if known is None:
        logger.warning("this vosk cannot look up words; grammar phrases are not checked")
    if dropped:
        logger.warning(
            "grammar: %d phrase(s) not in the model's vocabulary dropped: %s",
            len(dropped),
            ", ".join(dropped),
        )
    unique = list(dict.fromkeys(kept))
    return [*unique, UNK]


# ----------------------------------------------------------------------------- results


def _transcript(result_json: str, *, is_final: bool) -> Transcript:
    try:
        result = json.loads(result_json)
    except json.JSONDecodeError as err:
        raise ASRError(reason="Vosk returned invalid JSON") from err
    if not is_final:
        return Transcript(_clean(result.get("partial", "")), is_final=False)
    words = tuple(
        WordInfo(str(w["word"]), float(w["conf"]), float(w["start"]), float(w["end"]))
        for w in result.get("result", ())
    )
    confidence = sum(w.conf for w in words) / len(words) if words else None
    return Transcript(_clean(result.get("text", "")), True, confidence, words)


def _clean(text: str) -> str:
    return " ".join(w for w in str(text).split() if w != UNK)


# ----------------------------------------------------------------------------- session


class RecognizerSession:
    """One speaker's audio stream. Not shared between connections.

    Calls are serialised by a lock, so a transport may fire `feed` without waiting for the
    previous call. After a failure inside Vosk the recogniser is dropped and the next frame
    starts a fresh one; an invalid frame (`AudioError`) leaves the session as it was.
    """

    def __init__(
        self,
        settings: VoiceSettings | None = None,
        *,
        store: ModelStore | None = None,
        grammar: Grammar | Sequence[str] | None = None,
        require_unk: bool = True,
    ) -> None:
        self.settings = settings or get_voice_settings()
        self.require_unk = require_unk
        self._store = store or _default_store
        self._grammar: tuple[str, ...] | None = None
        self._active_grammar: list[str] | None = None
        self._rec: Any = None
        self._model: Any = None
        self._pcm = bytearray()  # the current utterance, kept while a grammar is on
        self.free_fallback = True  # re-decode an all-[unk] grammar utterance freely
        self._lock = asyncio.Lock()
        self._last_partial = ""
        self._utterance_bytes = 0
        self._chunk_bytes = self.settings.asr_chunk_ms * BYTES_PER_SECOND // 1000 // 2 * 2
        self._max_utterance_bytes = int(self.settings.max_utterance_s * BYTES_PER_SECOND)
        self.set_grammar(grammar)

    # -- configuration

    def set_grammar(self, grammar: Grammar | Sequence[str] | None) -> None:
        """Restrict the next utterances to ``grammar`` (None: free speech).

        Takes effect with a fresh recogniser: call `finish` first if audio is pending.
        """
        if isinstance(grammar, Grammar):
            phrases: tuple[str, ...] | None = grammar.phrases
        elif isinstance(grammar, str):  # one phrase, not a sequence of characters
            phrases = (grammar,)
        elif grammar is None:
            phrases = None
        else:
            phrases = tuple(grammar)
        if phrases != self._grammar:
            self._grammar = phrases
            self._rec = None
            self._active_grammar = None

    @property
    def active_grammar(self) -> list[str] | None:
        """The grammar the current recogniser uses after vocabulary filtering (or None)."""
        return self._active_grammar

    # -- streaming

    async def start(self) -> None:
        """Load the model and create the recogniser now (optional; `feed` does it too)."""
        async with self._lock:
            await self._ensure_recognizer()

    async def feed(self, pcm: bytes) -> list[Transcript]:
        """Accept one frame of 16 kHz 16-bit mono PCM; return new partial/final transcripts.

        A partial is returned only when its text changed; finals with no words (silence)
        are not returned. `AudioError` for a frame that is not bytes or has an odd length.
        """
        data = check_pcm_frame(pcm)
        if not data:
            return []
        async with self._lock:
            await self._ensure_recognizer()
            return await self._call(self._feed_sync, data)

    async def finish(self) -> Transcript:
        """End the utterance: the final transcript of whatever was fed (text may be empty)."""
        async with self._lock:
            if self._rec is None:
                return Transcript("", True)
            return await self._call(self._finish_sync)

    async def reset(self) -> None:
        """Forget the current utterance (for example when the user pressed cancel)."""
        async with self._lock:
            if self._rec is not None:
                await self._call(self._rec.Reset)
            self._last_partial = ""
            self._utterance_bytes = 0
            self._pcm.clear()

    # -- internals (the *_sync methods run in a Vosk worker thread)

    async def _ensure_recognizer(self) -> None:
        if self._rec is not None:
            return
        model = await self._store.get(self.settings)
        grammar = None
        if self._grammar is not None:
            grammar = await self._store.run(self.settings, filter_grammar, model, self._grammar)
            if grammar == [UNK]:
                logger.warning("grammar: no phrase is in the vocabulary; using free speech")
                grammar = None
            elif self.require_unk and not model_knows_unk(model):
                logger.warning(
                    "grammar: this model has no %s, so speech outside the grammar would come "
                    "out as a grammar word; using free speech",
                    UNK,
                )
                grammar = None
        self._rec = await self._store.run(self.settings, self._new_recognizer, model, grammar)
        self._model = model
        self._active_grammar = grammar
        self._last_partial = ""
        self._utterance_bytes = 0
        self._pcm.clear()

    def _new_recognizer(self, model: Any, grammar: list[str] | None) -> Any:
        vosk = _import_vosk()
        if grammar is None:
            rec = vosk.KaldiRecognizer(model, SAMPLE_RATE)
        else:
            rec = vosk.KaldiRecognizer(model, SAMPLE_RATE, json.dumps(grammar, ensure_ascii=False))
        rec.SetWords(True)
        apply_endpointer(rec, self.settings)
        return rec

    async def _call(self, func: Callable[..., _T], *args: Any) -> _T:
        try:
            return await self._store.run(self.settings, func, *args)
        except VoiceError:
            self._rec = None
            raise
        except Exception as err:
            self._rec = None  # a fresh recogniser for the next frame
            raise ASRError(reason=f"Vosk failed: {type(err).__name__}: {err}") from err

    def _feed_sync(self, data: bytes) -> list[Transcript]:
        rec = self._rec
        events: list[Transcript] = []
        for start in range(0, len(data), self._chunk_bytes):
            piece = data[start : start + self._chunk_bytes]
            self._utterance_bytes += len(piece)
            if self._active_grammar is not None:
                self._pcm += piece
            if rec.AcceptWaveform(piece):
                final = self._out_of_grammar(_transcript(rec.Result(), is_final=True))
            elif self._utterance_bytes >= self._max_utterance_bytes:
                logger.info("utterance reached %.0f s; ending it", self.settings.max_utterance_s)
                final = self._out_of_grammar(_transcript(rec.FinalResult(), is_final=True))
            else:
                partial = _transcript(rec.PartialResult(), is_final=False)
                if partial.text != self._last_partial:
                    self._last_partial = partial.text
                    if partial.text:
                        events.append(partial)
                continue
            self._last_partial = ""
            self._utterance_bytes = 0
            if final.text:
                events.append(final)
        return events

    def _finish_sync(self) -> Transcript:
        final = self._out_of_grammar(_transcript(self._rec.FinalResult(), is_final=True))
        self._last_partial = ""
        self._utterance_bytes = 0
        return final

    def _out_of_grammar(self, final: Transcript) -> Transcript:
        """``final`` itself, or, when the grammar heard only ``[unk]``, the same audio
        decoded without the grammar: the person said something the bot did not expect
        ("转人工" is in every grammar, but "我不记得了" is not), and must still be heard."""
        audio = bytes(self._pcm)
        self._pcm.clear()
        if (
            not self.free_fallback
            or self._active_grammar is None
            or final.text
            or not any(w.word == UNK for w in final.words)
            or not audio
        ):
            return final
        rec = self._new_recognizer(self._model, None)
        texts: list[str] = []
        words: list[WordInfo] = []
        for start in range(0, len(audio), self._chunk_bytes):
            if rec.AcceptWaveform(audio[start : start + self._chunk_bytes]):
                part = _transcript(rec.Result(), is_final=True)
                texts.append(part.text)
                words.extend(part.words)
        last = _transcript(rec.FinalResult(), is_final=True)
        texts.append(last.text)
        words.extend(last.words)
        text = " ".join(t for t in texts if t)
        logger.info("grammar: out-of-grammar utterance decoded freely (%d words)", len(words))
        confidence = sum(w.conf for w in words) / len(words) if words else None
        return Transcript(text, True, confidence, tuple(words))


_endpointer_warned = False


def apply_endpointer(rec: Any, settings: VoiceSettings) -> bool:
    """Apply the endpointing settings if this vosk supports them; False if it cannot.

    vosk 0.3.45 (the release on PyPI) has neither ``SetEndpointerMode`` nor
    ``SetEndpointerDelays``: the settings are then a logged no-op and Vosk's built-in
    endpointing (about 0.5 s of silence after speech) applies.
    """
    global _endpointer_warned
    wanted = settings.endpointer_mode != "default" or settings.endpointer_delays is not None
    set_mode = getattr(rec, "SetEndpointerMode", None)
    set_delays = getattr(rec, "SetEndpointerDelays", None)
    if set_mode is None or set_delays is None:
        if wanted and not _endpointer_warned:
            _endpointer_warned = True
            logger.warning("this vosk has no endpointer settings; VOICE_ENDPOINTER_* ignored")
        return False
    if settings.endpointer_mode != "default":
        set_mode(_ENDPOINTER_MODES[settings.endpointer_mode])
    if settings.endpointer_delays is not None:
        set_delays(*settings.endpointer_delays)
    return True
