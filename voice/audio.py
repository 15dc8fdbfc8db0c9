"""Audio in the voice layer's one input format: 16 kHz, 16-bit signed little-endian, mono PCM.

`to_pcm16k` turns whatever a channel received (a WAV of another rate, width or channel
count; an OGG/Opus voice note from a chat app; MP3, M4A, WebM...) into that format with
PyAV, and rejects everything else with an `AudioError` whose Chinese ``message`` a channel
can show or read aloud. WAV reading and writing use the standard library's `wave`.

Everything here is blocking CPU work: from async code call `to_pcm16k_async`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import struct
import wave
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error
from av.container import InputContainer

from voice.errors import AudioError, VoiceErrorCode

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2  # bytes: 16-bit signed
CHANNELS = 1
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH * CHANNELS

DEFAULT_MAX_SECONDS = 120.0
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# Hints meaning "already in the input contract": raw 16 kHz s16le mono, no header.
RAW_PCM_HINTS = frozenset({"pcm", "pcm16k", "s16le", "audio/pcm"})

# Hint (file extension or MIME type, lower case, without a leading dot) -> FFmpeg demuxer.
_HINT_FORMATS: dict[str, str] = {
    "wav": "wav",
    "wave": "wav",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "ogg": "ogg",
    "oga": "ogg",
    "opus": "ogg",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "webm": "matroska",
    "audio/webm": "matroska",
    "mp3": "mp3",
    "audio/mpeg": "mp3",
    "m4a": "mp4",
    "mp4": "mp4",
    "audio/mp4": "mp4",
    "flac": "flac",
    "audio/flac": "flac",
    "amr": "amr",
    "audio/amr": "amr",
}

# Demuxers we accept after probing. FFmpeg can "recognise" random bytes as exotic formats
# (raw video, text, images); anything outside this list is not a voice recording.
_ACCEPTED_DEMUXERS = frozenset(
    {"wav", "w64", "ogg", "matroska", "webm", "mp3", "mp4", "m4a", "mov", "3gp"}
    | {"flac", "aac", "amr", "amrnb", "amrwb", "aiff", "caf"}
)


# A WAV data size this large is a "length unknown" placeholder, not a real recording.
_STREAMING_DATA_SIZE = 0x7FFF0000


@dataclass(frozen=True, slots=True)
class WavInfo:
    """What a WAV file holds: raw frames plus their format."""

    frames: bytes
    sample_rate: int
    sample_width: int
    channels: int

    @property
    def duration(self) -> float:
        frame_size = self.sample_width * self.channels
        return len(self.frames) / frame_size / self.sample_rate if frame_size else 0.0


def pcm_duration(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> float:
    """Seconds of 16-bit mono PCM."""
    return len(pcm) / (SAMPLE_WIDTH * sample_rate)


def check_pcm_frame(frame: object) -> bytes:
    """A streamed frame in the input contract, or `AudioError` (``audio_bad_frame``).

    Frames are whole 16-bit samples, so their length must be even; only bytes-like values
    are accepted (a text frame sent over a WebSocket by mistake is refused, not decoded).
    """
    if isinstance(frame, bytes):
        data = frame
    elif isinstance(frame, bytearray | memoryview):
        data = bytes(frame)
    else:
        raise AudioError(
            VoiceErrorCode.AUDIO_BAD_FRAME, reason=f"frame is {type(frame).__name__}, not bytes"
        )
    if len(data) % SAMPLE_WIDTH:
        raise AudioError(
            VoiceErrorCode.AUDIO_BAD_FRAME,
            reason=f"frame has {len(data)} bytes, not a whole number of 16-bit samples",
        )
    return data


def write_wav(
    frames: bytes,
    sample_rate: int = SAMPLE_RATE,
    sample_width: int = SAMPLE_WIDTH,
    channels: int = CHANNELS,
) -> bytes:
    """A complete WAV file around raw PCM frames."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(sample_width)
        out.setframerate(sample_rate)
        out.writeframes(frames)
    return buffer.getvalue()


def read_wav(data: bytes) -> WavInfo:
    """Frames and format of a PCM WAV file; `AudioError` if it is not one or is cut short.

    A header whose data size is 0 or 2 GB and more (placeholders written by streaming
    writers that do not know the length in advance, ``espeak-ng --stdout`` among them) is
    accepted with whatever frames follow it.
    """
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            declared = wav.getnframes()
            frames = wav.readframes(declared)
            info = WavInfo(frames, wav.getframerate(), wav.getsampwidth(), wav.getnchannels())
    except (wave.Error, EOFError, struct.error, RuntimeError, ValueError, OSError) as err:
        # `wave` raises RuntimeError/ValueError on some malformed chunk sizes
        raise AudioError(VoiceErrorCode.AUDIO_UNREADABLE, reason=f"not a PCM WAV: {err}") from err
    frame_size = info.sample_width * info.channels
    streaming_header = declared == 0 or declared * frame_size >= _STREAMING_DATA_SIZE
    if not streaming_header and len(frames) < declared * frame_size:
        raise AudioError(
            VoiceErrorCode.AUDIO_TRUNCATED,
            reason=f"WAV declares {declared} frames, holds {len(frames) // frame_size}",
        )
    return info


def to_pcm16k(
    data: bytes,
    hint: str | None = None,
    *,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> bytes:
    """Any supported recording as 16 kHz 16-bit mono PCM (no header).

    ``hint`` is a file extension or MIME type ("ogg", "audio/ogg", ".wav"...) used to pick
    the demuxer first; "pcm16k" means the bytes already are raw contract PCM. Raises
    `AudioError` for empty, oversized, unreadable, truncated, silent-less (no audio stream)
    or too long input. Decoding stops as soon as the output passes ``max_seconds``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise AudioError(VoiceErrorCode.AUDIO_UNREADABLE, reason="audio is not bytes")
    data = bytes(data)
    if not data:
        raise AudioError(VoiceErrorCode.AUDIO_EMPTY, reason="no bytes")
    if len(data) > max_bytes:
        raise AudioError(
            VoiceErrorCode.AUDIO_TOO_LARGE, reason=f"{len(data)} bytes > limit {max_bytes}"
        )
    key = _normalise_hint(hint)
    if key in RAW_PCM_HINTS:
        pcm = check_pcm_frame(data)
        _check_duration(len(pcm), max_seconds)
        return pcm
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            info = read_wav(data)
        except AudioError as err:
            if err.code is VoiceErrorCode.AUDIO_TRUNCATED:
                raise
            info = None  # not PCM (float, ADPCM...): let FFmpeg try
        if info is not None:
            _check_duration_s(info.duration, max_seconds)
            if (info.sample_rate, info.sample_width, info.channels) == (
                SAMPLE_RATE,
                SAMPLE_WIDTH,
                CHANNELS,
            ):
                if not info.frames:
                    raise AudioError(VoiceErrorCode.AUDIO_NO_SOUND, reason="WAV has no frames")
                return info.frames
    elif data[:4] == b"OggS":
        _check_ogg_complete(data)
    return _decode_with_av(data, _HINT_FORMATS.get(key or ""), max_seconds)


async def to_pcm16k_async(
    data: bytes,
    hint: str | None = None,
    *,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> bytes:
    """`to_pcm16k` in a worker thread, so decoding a voice note never blocks the event loop."""
    return await asyncio.to_thread(
        to_pcm16k, data, hint, max_seconds=max_seconds, max_bytes=max_bytes
    )


def _normalise_hint(hint: str | None) -> str | None:
    if not hint:
        return None
    key = hint.strip().lower().split(";", 1)[0].strip()
    return key.rsplit(".", 1)[-1] if "/" not in key else key


def _check_duration(n_bytes: int, max_seconds: float) -> None:
    _check_duration_s(n_bytes / BYTES_PER_SECOND, max_seconds)


def _check_duration_s(seconds: float, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise AudioError(
            VoiceErrorCode.AUDIO_TOO_LONG, reason=f"{seconds:.1f} s > limit {max_seconds:.1f} s"
        )


def _check_ogg_complete(data: bytes) -> None:
    """An Ogg file must end with a whole end-of-stream page.

    FFmpeg silently drops a page cut in the middle, so a voice note that was cut off in
    transfer would otherwise be recognised as if the person had stopped talking.
    """
    last = data.rfind(b"OggS")
    header_len = 27
    if last < 0 or len(data) - last < header_len:
        raise AudioError(VoiceErrorCode.AUDIO_TRUNCATED, reason="Ogg ends inside a page header")
    header_type = data[last + 5]
    n_segments = data[last + 26]
    table_end = last + header_len + n_segments
    if table_end > len(data):
        raise AudioError(VoiceErrorCode.AUDIO_TRUNCATED, reason="Ogg ends inside a segment table")
    page_end = table_end + sum(data[last + header_len : table_end])
    if page_end != len(data) or not header_type & 0x04:
        raise AudioError(
            VoiceErrorCode.AUDIO_TRUNCATED, reason="Ogg does not end with an end-of-stream page"
        )


def _decode_with_av(data: bytes, demuxer: str | None, max_seconds: float) -> bytes:
    av.logging.set_level(None)  # FFmpeg's own stderr chatter; errors arrive as exceptions
    try:
        container = _open(data, demuxer)
    except av.error.EOFError as err:
        raise AudioError(VoiceErrorCode.AUDIO_TRUNCATED, reason=f"ends early: {err}") from err
    except (av.error.FFmpegError, ValueError, OSError) as err:
        raise AudioError(VoiceErrorCode.AUDIO_UNREADABLE, reason=f"cannot open: {err}") from err
    try:
        names = set(container.format.name.split(","))
        if not names & _ACCEPTED_DEMUXERS:
            raise AudioError(
                VoiceErrorCode.AUDIO_UNREADABLE,
                reason=f"not an audio recording format: {container.format.name}",
            )
        if not container.streams.audio:
            raise AudioError(VoiceErrorCode.AUDIO_NO_SOUND, reason="no audio stream")
        stream = container.streams.audio[0]
        if container.duration is not None:  # microseconds; a first cheap refusal
            _check_duration_s(container.duration / 1_000_000, max_seconds)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        limit = int(max_seconds * BYTES_PER_SECOND)
        out = bytearray()
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for resampled in resampler.resample(frame):
                        out += bytes(resampled.planes[0])[: resampled.samples * SAMPLE_WIDTH]
                if len(out) > limit:
                    _check_duration(len(out), max_seconds)
            for resampled in resampler.resample(None):
                out += bytes(resampled.planes[0])[: resampled.samples * SAMPLE_WIDTH]
        except av.error.EOFError as err:
            raise AudioError(VoiceErrorCode.AUDIO_TRUNCATED, reason=f"ends early: {err}") from err
        except (av.error.FFmpegError, ValueError) as err:
            raise AudioError(
                VoiceErrorCode.AUDIO_UNREADABLE, reason=f"cannot decode: {err}"
            ) from err
    finally:
        container.close()
    _check_duration(len(out), max_seconds)
    if not out:
        raise AudioError(VoiceErrorCode.AUDIO_NO_SOUND, reason="decoded no samples")
    return bytes(out)


def _open(data: bytes, demuxer: str | None) -> InputContainer:
    """Open with the hinted demuxer first (a wrong hint falls back to probing)."""
    if demuxer is not None:
        try:
            return av.open(io.BytesIO(data), mode="r", format=demuxer)
        except av.error.FFmpegError:
            logger.debug("hinted demuxer %s refused the data; probing", demuxer)
    return av.open(io.BytesIO(data), mode="r")


# ----------------------------------------------------------------------------- encoding

OPUS_RATE = 48_000  # libopus only runs at 8/12/16/24/48 kHz; 48 kHz is what chat apps send
OPUS_FRAME_SAMPLES = 960  # 20 ms at 48 kHz, libopus's default frame


def wav_to_ogg_opus(wav: bytes, *, bitrate: int = 32_000) -> bytes:
    """A spoken reply (a PCM WAV from TTS) as an OGG/Opus mono voice note.

    Telegram shows a ``sendVoice`` file as a playable voice message (waveform, speed
    control) only when it is OGG with an Opus stream; any other format arrives as a plain
    document that elderly users would have to open. The WAV is resampled to 48 kHz mono
    with PyAV and encoded with FFmpeg's libopus. Raises `AudioError` for input that is
    not a PCM WAV or holds no sound. Blocking: from async code use `wav_to_ogg_opus_async`.
    """
    info = read_wav(wav)
    if not info.frames:
        raise AudioError(VoiceErrorCode.AUDIO_NO_SOUND, reason="WAV has no frames")
    layouts = {1: "mono", 2: "stereo"}
    formats = {1: "u8", 2: "s16", 4: "s32"}
    if info.channels not in layouts or info.sample_width not in formats:
        raise AudioError(
            VoiceErrorCode.AUDIO_UNREADABLE,
            reason=f"unsupported WAV: {info.channels} channels, {info.sample_width}-byte samples",
        )
    frame = av.AudioFrame(
        format=formats[info.sample_width],
        layout=layouts[info.channels],
        samples=len(info.frames) // (info.sample_width * info.channels),
    )
    frame.planes[0].update(info.frames)
    frame.sample_rate = info.sample_rate
    frame.pts = 0
    frame.time_base = Fraction(1, info.sample_rate)
    av.logging.set_level(None)
    buffer = io.BytesIO()
    try:
        with av.open(buffer, mode="w", format="ogg") as out:
            stream = out.add_stream("libopus", rate=OPUS_RATE)
            stream.layout = "mono"
            stream.bit_rate = bitrate
            # libopus wants whole 20 ms frames of s16 at 48 kHz; the FIFO hands them out.
            resampler = av.AudioResampler(
                format="s16", layout="mono", rate=OPUS_RATE, frame_size=OPUS_FRAME_SAMPLES
            )
            for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
                for packet in stream.encode(resampled):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    except (av.error.FFmpegError, ValueError) as err:
        raise AudioError(VoiceErrorCode.AUDIO_UNREADABLE, reason=f"cannot encode: {err}") from err
    return buffer.getvalue()


async def wav_to_ogg_opus_async(wav: bytes, *, bitrate: int = 32_000) -> bytes:
    """`wav_to_ogg_opus` in a worker thread: encoding takes tens of milliseconds per second."""
    return await asyncio.to_thread(wav_to_ogg_opus, wav, bitrate=bitrate)
