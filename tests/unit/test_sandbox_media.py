"""The sandbox's generated media are real files: Pillow and mutagen read exactly what was asked for."""

from __future__ import annotations

import io
import random
import struct
import wave

import mutagen
import pytest
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.wave import WAVE
from PIL import Image, ImageChops

from sandbox import media


@pytest.mark.parametrize(
    ("width", "height", "image_format", "mode"),
    [(1400, 1400, "JPEG", "RGB"), (1400, 1400, "JPEG", "CMYK"), (1600, 1200, "PNG", "RGB"), (1500, 1500, "PNG", "RGBA")],
)
def test_covers_have_the_asked_size_format_and_mode(width, height, image_format, mode):
    image = Image.open(io.BytesIO(media.cover(width, height, image_format, mode=mode)))
    image.load()
    assert (image.width, image.height, image.format, image.mode) == (width, height, image_format, mode)


def test_grain_makes_a_large_png_and_covers_repeat_byte_for_byte():
    plain = media.cover(1400, 1400, "PNG")
    grainy = media.cover(1400, 1400, "PNG", grain=3)
    assert len(grainy) > 10 * len(plain)
    assert media.cover(1400, 1400, "PNG", grain=3) == grainy
    assert media.cover(1400, 1400, seed=1) != media.cover(1400, 1400, seed=2)


def test_a_truncated_cover_is_cut_where_asked():
    assert len(media.cover(1400, 1400, truncate_to=5000)) == 5000


def test_wav_is_pcm_of_the_asked_duration():
    data = media.wav(42.5)
    with wave.open(io.BytesIO(data)) as reader:
        assert reader.getnframes() / reader.getframerate() == 42.5
    read = mutagen.File(io.BytesIO(data))
    assert isinstance(read, WAVE)
    assert read.info.length == pytest.approx(42.5)


def test_mp3_is_constant_bitrate_layer_three_with_an_info_frame():
    data = media.mp3(61.2)
    frames = media.mp3_frame_count(61.2)
    assert len(data) == (frames + 1) * 144
    assert data[:4] == media.MP3_HEADER and data[21:25] == b"Info"
    assert struct.unpack(">I", data[29:33])[0] == frames
    read = mutagen.File(io.BytesIO(data))
    assert isinstance(read, MP3)
    assert (read.info.layer, read.info.bitrate, read.info.sample_rate, read.info.channels) == (3, 32000, 32000, 1)
    assert read.info.length == pytest.approx(frames * 1152 / 32000)


def test_mp2_is_an_id3_tagged_layer_two_stream():
    read = mutagen.File(io.BytesIO(media.mp2(10)))
    assert isinstance(read, MP3)
    assert read.info.layer == 2
    assert read.tags["TIT2"].text == ["Sandbox"]
    assert read.info.length == pytest.approx(media.mp3_frame_count(10) * 1152 / 32000)


def test_m4a_is_aac_lc_whose_sample_table_points_at_its_frames():
    data = media.m4a(30)
    read = mutagen.File(io.BytesIO(data))
    assert isinstance(read, MP4)
    assert (read.info.codec, read.info.sample_rate, read.info.channels) == ("mp4a.40.2", 16000, 1)
    frames = round(30 * 16000 / 1024)
    assert read.info.length == pytest.approx(frames * 1024 / 16000)
    chunk_offset = struct.unpack(">I", data[data.index(b"stco") + 12 : data.index(b"stco") + 16])[0]
    assert data[chunk_offset - 8 : chunk_offset] == struct.pack(">I", 8 + frames * 4) + b"mdat"
    assert data[chunk_offset:] == media.AAC_SILENT_FRAME * frames


@pytest.mark.parametrize(("width", "height"), [(1, 1), (3, 2), (257, 131), (1400, 1400)])
def test_the_grainy_png_writer_keeps_every_pixel(width, height):
    """Noisy covers are written as PNGs by `_grainy_png` (filter Up on every scanline), not by Pillow's
    encoder; a reader must get back exactly the pixels written, at any size."""
    rng = random.Random(width * height)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    data = media._grainy_png(image)
    Image.open(io.BytesIO(data)).verify()  # chunk CRCs and structure
    read = Image.open(io.BytesIO(data))
    read.load()
    assert (read.format, read.mode, read.size) == ("PNG", "RGB", (width, height))
    assert read.tobytes() == image.tobytes()


def test_a_grainy_png_cover_is_the_plain_picture_with_its_noise_added():
    cover = Image.open(io.BytesIO(media.cover(600, 400, "PNG", grain=3, seed=9))).convert("RGB")
    plain = Image.open(io.BytesIO(media.cover(600, 400, "PNG", seed=9))).convert("RGB")  # written by Pillow
    difference = ImageChops.subtract(cover, plain)  # the grain only ever adds, by at most 3
    assert max(high for _, high in difference.getextrema()) <= 3 and difference.getbbox() is not None
