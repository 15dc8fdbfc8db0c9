"""The process side of speech synthesis: pyttsx3 + espeak-ng, isolated from the gateway.

pyttsx3 keeps global engine state, runs its own loop and, with some versions and drivers,
hangs or writes nothing on a later call. So it never runs in the gateway process: `serve`
runs in a child process (``python -m voice.tts_worker --fd N --voice V``) started by
``voice.tts.TTSWorker``, and answers one `SynthRequest` at a time over a socket the parent
passes as file descriptor N. The parent kills and restarts the child on a timeout or failure.

A plain subprocess rather than `multiprocessing`: its "spawn" start method re-imports the
parent's ``__main__``, which breaks under any script without a ``__main__`` guard, and
"fork" would copy a threaded gateway. Messages are small pickled dataclasses (not dicts).
This module imports nothing heavy at import time: the parent imports it for the message
types only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path


@dataclass(frozen=True, slots=True)
class WorkerReady:
    """The engine is up with the requested voice (or ``error`` says why it is not)."""

    error: str | None = None


@dataclass(frozen=True, slots=True)
class SynthRequest:
    request_id: int
    text: str
    words_per_minute: int


@dataclass(frozen=True, slots=True)
class SynthReply:
    request_id: int
    wav: bytes | None
    error: str | None = None


# espeak-ng's embedded command "Ctrl-A <n> S": speak the following text at n words a minute.
_EMBEDDED_SPEED = "\x01{wpm}S"
_CONTROL_CHARS = dict.fromkeys(range(0x20), " ")


class _Engine:
    """pyttsx3's engine plus the errors it reports by notification instead of raising."""

    def __init__(self, voice: str) -> None:
        import pyttsx3  # type: ignore[import-untyped]

        self.errors: list[BaseException] = []
        self.engine = pyttsx3.init("espeak")
        self.engine.connect("error", self._on_error)
        # pyttsx3 queues property changes and reports their failures as an "error"
        # notification; run the queue now so that an unknown voice fails here, loudly.
        self.engine.setProperty("voice", voice)
        self.engine.runAndWait()
        self.raise_errors()

    def _on_error(self, name: object = None, exception: BaseException | None = None) -> None:
        self.errors.append(exception or RuntimeError("pyttsx3 reported an error"))

    def raise_errors(self) -> None:
        if self.errors:
            first, self.errors = self.errors[0], []
            raise first

    def save(self, text: str, words_per_minute: int, path: Path) -> None:
        # The rate goes into the text as an embedded command: with pyttsx3 2.99 and
        # espeak-ng 1.51, setProperty("rate") after the first utterance is applied only on
        # some later calls (measured: the first rate sticks), the embedded command always.
        # Control characters are removed first so reply text cannot embed commands itself.
        clean = text.translate(_CONTROL_CHARS)
        self.engine.save_to_file(_EMBEDDED_SPEED.format(wpm=words_per_minute) + clean, str(path))
        self.engine.runAndWait()
        self.raise_errors()


def _synthesize(engine: _Engine, request: SynthRequest, folder: Path) -> bytes:
    path = folder / f"{request.request_id}.wav"
    try:
        engine.save(request.text, request.words_per_minute, path)
        return path.read_bytes() if path.exists() else b""
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def serve(conn: Connection, voice: str) -> None:
    """Child-process main loop: init once, then answer requests until the pipe closes."""
    # The espeak driver prints a line per saved file; the parent's stdout is not ours.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        engine = _Engine(voice)
    except Exception as err:
        conn.send(WorkerReady(error=f"{type(err).__name__}: {err}"))
        return
    conn.send(WorkerReady())
    with tempfile.TemporaryDirectory(prefix="voice-tts-") as tmp:
        folder = Path(tmp)
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return  # the parent went away
            if not isinstance(request, SynthRequest):
                return
            try:
                wav = _synthesize(engine, request, folder)
            except Exception as err:
                conn.send(SynthReply(request.request_id, None, f"{type(err).__name__}: {err}"))
            else:
                conn.send(SynthReply(request.request_id, wav))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="pyttsx3 worker for voice.tts (internal)")
    parser.add_argument("--fd", type=int, required=True, help="socket inherited from the parent")
    parser.add_argument("--voice", required=True, help="espeak-ng voice name")
    args = parser.parse_args(argv)
    # Run `serve` from the imported module, not from ``__main__``: the messages must
    # pickle as ``voice.tts_worker.*`` for the parent to load them.
    from voice import tts_worker

    conn = Connection(args.fd)
    try:
        tts_worker.serve(conn, args.voice)
    finally:
        conn.close()


if __name__ == "__main__":
    main()
