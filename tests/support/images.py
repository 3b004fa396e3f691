"""Tiny image files built byte by byte for the image-input tests: real PNGs, and headers of JPEG, GIF, WebP
and PDF files that claim whatever dimensions a test needs (llmops reads headers only, never decodes)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from tests.conftest import write


def png(
    width: int = 4,
    height: int = 3,
    color: tuple[int, int, int] = (200, 30, 30),
    *,
    claim: tuple[int, int] | None = None,
) -> bytes:
    """A valid RGB PNG; ``claim`` writes other dimensions into IHDR than the pixel data has (a bomb's header)."""
    raw = b"".join(b"\x00" + bytes(color) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    w, h = claim or (width, height)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg(width: int = 8, height: int = 6, *, exif: int = 0) -> bytes:
    """SOI, an APP1 segment of ``exif`` bytes (the frame header comes after it), SOF0 with the dimensions, EOI."""
    app1 = b"\xff\xe1" + struct.pack(">H", exif + 2) + b"E" * exif if exif else b""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + app1 + sof + b"\xff\xd9"


def gif(width: int = 5, height: int = 5) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def webp_vp8x(width: int = 10, height: int = 7) -> bytes:
    payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8l(width: int = 10, height: int = 7) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + bits.to_bytes(4, "little") + b"\x00"
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


IMAGE_PROMPT = """
model: chat
params: {temperature: 0}
inputs:
  photo: {type: image}
  note: {type: string, default: ""}
output: text
messages:
  - role: system
    content: You describe photos.
  - role: user
    content: "Describe the photo. {{ note }}"
    attach: [photo]
"""


def image_project(root: Path, url: str, golden: str | None = None, *, prompt: str = IMAGE_PROMPT) -> Path:
    """An eval project (alias ``chat`` at the fake server) with the ``vision/describe`` image prompt."""
    from tests.support.evalproj import config_text

    write(root, "llmops.yaml", config_text(url))
    write(root, "prompts/vision/describe.prompt.yaml", prompt)
    if golden is not None:
        write(root, "evals/vision/describe.yaml", golden)
    return root
