"""Writes the tiny PNG "receipt photos" of the ``receipts/triage`` golden set (evals/receipts/photos/).

They are generated, not photographed, so the repository carries a few hundred bytes of images that any reader can
regenerate byte for byte: a receipt is a light sheet with dark rows where the lines of text would be, a blurry one
is a flat grey smear, and the non-receipt is a coloured square. Valid PNGs (zlib-compressed RGB scanlines, CRCs),
written with the standard library only.

    python bench/receipt_photos.py          # rewrites the files; git diff shows no change when they are current
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "evals" / "receipts" / "photos"
Pixel = tuple[int, int, int]


def png(rows: list[list[Pixel]]) -> bytes:
    """A PNG (8-bit RGB, no interlace) of ``rows`` of pixels."""
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + b"".join(bytes(p) for p in row) for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def receipt(lines: list[int], width: int = 24, height: int = 40) -> bytes:
    """A light sheet; each entry of ``lines`` is the length of a dark text row (every third row)."""
    paper, ink = (246, 244, 236), (40, 40, 48)
    rows = [[paper] * width for _ in range(height)]
    for i, length in enumerate(lines):
        y = 3 + 3 * i
        for x in range(2, min(width - 2, 2 + length)):
            rows[y][x] = ink
    return png(rows)


PHOTOS = {
    "grocery.png": receipt([10, 16, 14, 12, 18, 9, 15, 6, 20, 8]),
    "long-pharmacy.png": receipt([18, 8, 16, 11, 13, 9, 17, 12, 15, 10, 19, 14], height=42),
    "blurry.png": png([[(148 + (x + y) % 7, 150, 152) for x in range(24)] for y in range(40)]),
    "not-a-receipt.png": png([[(30, 120 + y * 3, 200)] * 24 for y in range(24)]),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in PHOTOS.items():
        (OUT / name).write_bytes(data)
        print(f"{OUT / name}  {len(data)} bytes")


if __name__ == "__main__":
    main()
