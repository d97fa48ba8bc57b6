"""Real, small media files made by code for the sandbox and the tests: covers (JPEG/PNG in any size
and colour mode) and silent audio masters (MP3, WAV, M4A of a given duration).

Nothing here is a stand-in: every file is what its format says, so Pillow and mutagen (and a player)
read it as they would a publisher's file. Everything is deterministic (a seed, no clock), so two runs
serve the same bytes and content hashes repeat.

- Covers are a gradient with a disc on it; `grain` adds seeded noise, which is what makes a PNG large
  (noise does not compress): `cover(3000, 3000, "PNG", grain=3)` is a ~5.7 MB PNG.
- WAV is written with the standard library's `wave` module (PCM silence).
- MP3 is a run of MPEG-1 Layer III frames built here: each has a valid 4-byte header (sync word,
  version, layer, bitrate, sample rate, mono) and all-zero side information, which decodes as
  silence; at 32 kbit/s and 32 kHz every frame is 144 bytes and lasts 1152/32000 s. An "Info"
  (Xing) header frame states the frame count, as encoders write for constant bitrate files.
- MP2 (MPEG-1 Layer II, a broadcast format Megaphone does not take) is built the same way: all-zero
  bit allocations, silence; it starts with an ID3v2.4 tag (a title frame), as tagged files do.
- M4A is an ISO base media file (ftyp, moov with one sound track, mdat) whose samples are silent AAC
  LC frames (a single channel element with no spectral data), with the sample tables (stts, stsz,
  stsc, stco) that point at them and an esds that names AAC LC, as an encoder would write.
"""

from __future__ import annotations

import functools
import io
import math
import random
import struct
import wave
import zlib

from PIL import Image, ImageChops, ImageDraw

# ------------------------------------------------------------------------------------------ covers


COVERS_KEPT = 8  # a file is fetched a few times around its publication (checks, then Megaphone's ingest)


@functools.lru_cache(maxsize=COVERS_KEPT)
def cover(
    width: int,
    height: int,
    image_format: str = "JPEG",
    *,
    mode: str = "RGB",
    grain: int = 0,
    quality: int = 90,
    seed: int = 0,
    truncate_to: int | None = None,
) -> bytes:
    """A cover image of `width`×`height` in `image_format`, saved in colour `mode`.

    `grain` (0–255) is the amplitude of seeded noise; `truncate_to` cuts the file (a damaged upload).
    Making a 3000×3000 JPEG cover takes ~30 ms (its background is shared, `_gradient`; the JPEG encoding is
    most of the rest) and the bytes depend only on the arguments, so the last few made are kept."""
    image = _picture(width, height, seed)
    if grain:
        rng = random.Random(seed)
        noise = Image.frombytes("L", (width, height), rng.randbytes(width * height)).point(lambda v: v * grain // 255)
        image = ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)))
    if mode != "RGB":
        image = image.convert(mode)
    if image_format == "PNG" and image.mode == "RGB" and grain:
        data = _grainy_png(image)
    else:
        buffer = io.BytesIO()
        # A PNG at zlib level 1: the sandbox makes its files for their pixels and size class, and level 6
        # (Pillow's default) spent 1.5 s on a noisy 3000x3000 cover for a file 4.4 MB instead of 6 MB.
        options: dict[str, int] = {"JPEG": {"quality": quality}, "PNG": {"compress_level": 1}}.get(image_format, {})
        image.save(buffer, image_format, **options)
        data = buffer.getvalue()
    return data[:truncate_to] if truncate_to is not None else data


def _grainy_png(image: Image.Image) -> bytes:
    """A noisy RGB cover as a PNG written here: every scanline with filter 2 ("Up": each byte minus the
    one above it), zlib level 1, one IDAT chunk. The pixels are the ones Pillow would write, in the same
    size class (5.7 MB at 3000x3000, grain 3; Pillow's was 6.0 MB), in ~0.3 s instead of ~0.47 s: Pillow
    tries every filter on every scanline. A demo run makes two such covers, and the tests many more."""
    width, height = image.size
    above = ImageChops.offset(image, 0, 1)  # each row moved down one (the last wraps to the top)
    above.paste((0, 0, 0), (0, 0, width, 1))  # the first row has nothing above it
    residuals = ImageChops.subtract_modulo(image, above)
    stride = width * 3
    scanlines = Image.new("L", (stride + 1, height), 2)  # column 0: each scanline's filter type
    scanlines.paste(Image.frombytes("L", (stride, height), residuals.tobytes()), (1, 0))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits a sample, truecolour, no interlace
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 1)) + _png_chunk(b"IEND", b"")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _picture(width: int, height: int, seed: int) -> Image.Image:
    image = _gradient(width, height).copy()
    hue = random.Random(seed).randrange(256)
    ImageDraw.Draw(image).ellipse((width // 5, height // 5, width * 4 // 5, height * 4 // 5), fill=(hue, 40, 255 - hue))
    return image


@functools.lru_cache(maxsize=2)
def _gradient(width: int, height: int) -> Image.Image:
    """The covers' shared background (only the disc's colour differs by seed); resizing and merging
    the channels is most of a 3000×3000 cover's making, so it is made once per size. Callers copy it."""
    gradient = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGB", (gradient, gradient.rotate(90), gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


# ------------------------------------------------------------------------------------------ audio
WAV_SAMPLE_RATE = 8000

MP3_SAMPLE_RATE = 32000
MP3_BITRATE = 32000
MP3_SAMPLES_PER_FRAME = 1152
MP3_FRAME_BYTES = 144 * MP3_BITRATE // MP3_SAMPLE_RATE  # 144 bytes: no padding at 32 kbit/s, 32 kHz
# MPEG-1 (11), Layer III (01), no CRC (1); bitrate index 1 (32 kbit/s), sample-rate index 2 (32 kHz); mono (11).
MP3_HEADER = bytes((0xFF, 0xFB, 0x18, 0xC0))
MP2_HEADER = bytes((0xFF, 0xFD, 0x18, 0xC0))  # the same, Layer II (10)
MP3_SIDE_INFO_BYTES = 17  # MPEG-1 mono

M4A_SAMPLE_RATE = 16000
M4A_SAMPLES_PER_FRAME = 1024
M4A_SAMPLE_RATE_INDEX = 8  # ISO 14496-3 sampling frequency index for 16 kHz
AAC_SILENT_FRAME = bytes((0x00, 0x00, 0x00, 0x07))  # SCE, global gain 0, long window, max_sfb 0, no tools; END


def wav(seconds: float, *, sample_rate: int = WAV_SAMPLE_RATE) -> bytes:
    """PCM silence: mono, 8-bit (the cheapest real WAV: `sample_rate` bytes a second)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(sample_rate)
        writer.writeframes(b"\x80" * round(seconds * sample_rate))  # 8-bit PCM is unsigned: 128 is silence
    return buffer.getvalue()


def mp3_frame_count(seconds: float) -> int:
    return max(1, round(seconds * MP3_SAMPLE_RATE / MP3_SAMPLES_PER_FRAME))


def mp3(seconds: float) -> bytes:
    """Constant-bitrate MPEG-1 Layer III silence of about `seconds` (whole frames of 36 ms)."""
    frames = mp3_frame_count(seconds)
    return _mp3_info_frame(frames) + _silent_frame(MP3_HEADER) * frames


def mp2(seconds: float, title: str = "Sandbox") -> bytes:
    """Constant-bitrate MPEG-1 Layer II silence (same frame size and timing as `mp3`), ID3-tagged."""
    return _id3_tag(title) + _silent_frame(MP2_HEADER) * mp3_frame_count(seconds)


def _id3_tag(title: str) -> bytes:
    """An ID3v2.4 tag holding one TIT2 (title) frame; sizes are "synchsafe" (7 bits a byte)."""
    text = b"\x03" + title.encode()  # encoding 3: UTF-8
    frame = b"TIT2" + _synchsafe(len(text)) + b"\x00\x00" + text
    return b"ID3\x04\x00\x00" + _synchsafe(len(frame)) + frame


def _synchsafe(value: int) -> bytes:
    return bytes(((value >> 21) & 0x7F, (value >> 14) & 0x7F, (value >> 7) & 0x7F, value & 0x7F))


def _silent_frame(header: bytes) -> bytes:
    return header + bytes(MP3_FRAME_BYTES - len(header))


def _mp3_info_frame(frames: int) -> bytes:
    """The "Info" header frame (Xing tag for CBR) with the frame and byte counts, after the side info."""
    payload = b"Info" + struct.pack(">II", 0x3, frames) + struct.pack(">I", (frames + 1) * MP3_FRAME_BYTES)
    body = bytes(MP3_SIDE_INFO_BYTES) + payload
    return MP3_HEADER + body + bytes(MP3_FRAME_BYTES - len(MP3_HEADER) - len(body))


def m4a(seconds: float) -> bytes:
    """Silent AAC LC in an MP4 (M4A) container: mono, 16 kHz, whole frames of 64 ms."""
    frames = max(1, round(seconds * M4A_SAMPLE_RATE / M4A_SAMPLES_PER_FRAME))
    duration = frames * M4A_SAMPLES_PER_FRAME  # in the track's time scale (the sample rate)
    ftyp = _box(b"ftyp", b"M4A " + struct.pack(">I", 0) + b"M4A mp42isom")
    media = AAC_SILENT_FRAME * frames

    def moov(media_offset: int) -> bytes:
        return _box(b"moov", _mvhd(duration) + _box(b"trak", _tkhd(duration) + _mdia(duration, frames, media_offset)))

    offset = len(ftyp) + len(moov(0)) + 8  # the mdat payload starts after its 8-byte header
    return ftyp + moov(offset) + _box(b"mdat", media)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def _mvhd(duration: int) -> bytes:
    return _full_box(
        b"mvhd",
        struct.pack(">IIII", 0, 0, M4A_SAMPLE_RATE, duration)
        + struct.pack(">IH", 0x00010000, 0x0100)
        + bytes(10)
        + _MATRIX
        + bytes(24)
        + struct.pack(">I", 2),
    )


def _tkhd(duration: int) -> bytes:
    return _full_box(
        b"tkhd",
        struct.pack(">IIIII", 0, 0, 1, 0, duration) + bytes(8) + struct.pack(">hhhH", 0, 0, 0x0100, 0) + _MATRIX + struct.pack(">II", 0, 0),
        flags=0x7,
    )


def _mdia(duration: int, frames: int, media_offset: int) -> bytes:
    mdhd = _full_box(b"mdhd", struct.pack(">IIII", 0, 0, M4A_SAMPLE_RATE, duration) + struct.pack(">HH", 0x55C4, 0))  # language "und"
    hdlr = _full_box(b"hdlr", struct.pack(">I", 0) + b"soun" + bytes(12) + b"SoundHandler\x00")
    smhd = _full_box(b"smhd", struct.pack(">hH", 0, 0))
    dinf = _box(b"dinf", _full_box(b"dref", struct.pack(">I", 1) + _full_box(b"url ", b"", flags=1)))
    stbl = _box(
        b"stbl",
        _stsd()
        + _full_box(b"stts", struct.pack(">III", 1, frames, M4A_SAMPLES_PER_FRAME))
        + _full_box(b"stsc", struct.pack(">IIII", 1, 1, frames, 1))
        + _full_box(b"stsz", struct.pack(">II", len(AAC_SILENT_FRAME), frames))
        + _full_box(b"stco", struct.pack(">II", 1, media_offset)),
    )
    return _box(b"mdia", mdhd + hdlr + _box(b"minf", smhd + dinf + stbl))


def _stsd() -> bytes:
    audio_entry = (
        bytes(6)
        + struct.pack(">H", 1)  # data reference index
        + bytes(8)
        + struct.pack(">HHHH", 1, 16, 0, 0)  # channels, sample size, pre-defined, reserved
        + struct.pack(">I", M4A_SAMPLE_RATE << 16)
        + _esds()
    )
    return _full_box(b"stsd", struct.pack(">I", 1) + _box(b"mp4a", audio_entry))


def _esds() -> bytes:
    """ES descriptor → decoder config (MPEG-4 audio, stream type audio) → AudioSpecificConfig
    (object type 2 = AAC LC, the sample-rate index, 1 channel) and the SL config."""
    audio_specific = struct.pack(">H", (2 << 11) | (M4A_SAMPLE_RATE_INDEX << 7) | (1 << 3))
    bitrate = math.ceil(len(AAC_SILENT_FRAME) * 8 * M4A_SAMPLE_RATE / M4A_SAMPLES_PER_FRAME)
    decoder_config = struct.pack(">BB", 0x40, (0x05 << 2) | 1) + bytes(3) + struct.pack(">II", bitrate, bitrate) + _descriptor(5, audio_specific)
    es = struct.pack(">HB", 1, 0) + _descriptor(4, decoder_config) + _descriptor(6, b"\x02")
    return _full_box(b"esds", _descriptor(3, es))


def _descriptor(tag: int, payload: bytes) -> bytes:
    if len(payload) > 127:
        raise ValueError("descriptor payloads here are short")
    return bytes((tag, len(payload))) + payload
