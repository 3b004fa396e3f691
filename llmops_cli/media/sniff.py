"""What a file's bytes are, read from their first bytes only: magic numbers and image headers, never decoding.

:func:`sniff` names the media type of PNG, JPEG, GIF, WebP and PDF bytes, and for images the pixel
dimensions the header claims — read without decoding, so a 1 KB file that claims 100,000 × 100,000 pixels
(a decompression bomb) is refused before any provider or library would try to unpack it. Every loop is bounded
by the length of the bytes looked at (:data:`HEADER_BYTES` for JPEG's segment walk).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
PDF = "application/pdf"
HEADER_BYTES = 1 << 20  # JPEG's frame header may follow EXIF/ICC segments: look this far at most

# the media type a file name's extension announces
EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": PDF,
}
NAMES = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    PDF: "PDF",
}


@dataclass(frozen=True)
class Sniffed:
    """The media type the bytes are, and for images the width and height their header claims."""

    media_type: str
    width: int | None = None
    height: int | None = None


class NotMedia(ValueError):
    """The bytes are not of a supported kind, or their header is cut short or malformed."""


def sniff(data: bytes) -> Sniffed:
    """The media type (and image dimensions) of ``data``; :class:`NotMedia` when it is none llmops knows."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data.startswith(b"%PDF-"):
        return Sniffed(PDF)
    raise NotMedia("not a PNG, JPEG, GIF, WebP or PDF file")


def _png(data: bytes) -> Sniffed:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise NotMedia("a PNG without its IHDR header")
    w, h = struct.unpack(">II", data[16:24])
    return Sniffed("image/png", w, h)


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (DHT, JPG, DAC are not)


def _jpeg(data: bytes) -> Sniffed:
    i, end = 2, min(len(data), HEADER_BYTES)
    while i + 4 <= end:  # each step advances by at least 2 bytes: bounded by the header length
        if data[i] != 0xFF:
            raise NotMedia("a JPEG whose segments are malformed")
        marker = data[i + 1]
        if marker == 0xFF:  # fill bytes: skip the run at C speed, to the last 0xFF before a marker
            run = data[i:end]
            i += max(1, len(run) - len(run.lstrip(b"\xff")) - 1)
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if length < 2:
            raise NotMedia("a JPEG whose segments are malformed")
        if marker in _SOF:
            if i + 9 > end:
                break
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return Sniffed("image/jpeg", w, h)
        if marker == 0xD9:  # end of image before any frame
            break
        i += 2 + length
    raise NotMedia(f"a JPEG without a frame header in its first {HEADER_BYTES:,} bytes")


def _gif(data: bytes) -> Sniffed:
    """The logical screen, grown to cover every frame: a 1 × 1 screen whose frame claims 65,535 × 65,535
    pixels is as big as its frame. Blocks are walked, never decompressed (each step moves forward)."""
    if len(data) < 13:
        raise NotMedia("a GIF header cut short")
    w, h, flags = struct.unpack("<HHB", data[6:11])
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while i < len(data):
        block = data[i]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then sub-blocks
            i = _skip_sub_blocks(data, i + 2)
        elif block == 0x2C:  # image descriptor: left, top, width, height, flags
            if i + 10 > len(data):
                raise NotMedia("a GIF frame header cut short")
            left, top, fw, fh, fflags = struct.unpack("<HHHHB", data[i + 1 : i + 10])
            w, h = max(w, left + fw), max(h, top + fh)
            i += 10 + (3 << ((fflags & 7) + 1) if fflags & 0x80 else 0)
            i = _skip_sub_blocks(data, i + 1)  # after the LZW minimum code size
        else:
            raise NotMedia("a GIF whose blocks are malformed")
    return Sniffed("image/gif", w, h)


def _skip_sub_blocks(data: bytes, i: int) -> int:
    while i < len(data) and data[i] != 0:
        i += data[i] + 1
    return i + 1


def _webp(data: bytes) -> Sniffed:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        w = 1 + int.from_bytes(data[24:27], "little")
        h = 1 + int.from_bytes(data[27:30], "little")
        return Sniffed("image/webp", w, h)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return Sniffed("image/webp", 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        return Sniffed("image/webp", w & 0x3FFF, h & 0x3FFF)
    raise NotMedia("a WebP without a VP8/VP8L/VP8X header")
