"""What an image input costs: reading, checking and rendering a project image of 1 KB, 1 MB and 20 MB (first
render, and a re-render served by the reader's cache), and the cache key of the rendered request with the data
URL hashed in full versus by the part's sha256 (what llmops does).

    python bench/image_inputs_bench.py            # prints one row per size

The images are PNG headers followed by filler bytes (llmops reads headers only, so the filler is never decoded).
"""

from __future__ import annotations

import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmops_cli.hashing import sha256_of
from llmops_cli.project import Project
from llmops_cli.records.content import hash_view

PROMPT = """model: openai/gpt-4o-mini-2024-07-18
inputs:
  photo: {type: image, max_bytes: 50000000}
messages:
  - role: user
    content: Describe the photo.
    attach: [photo]
"""


def png_of_size(size: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 1024, 768, 8, 2, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return head + bytes(max(0, size - len(head)))


def best(fn: Callable[[], object], n: int = 5) -> float:
    """The fastest of ``n`` runs, in ms."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def row(root: Path, size: int) -> str:
    """One table row: a project image of ``size`` bytes."""
    (root / "photo.png").write_bytes(png_of_size(size))
    first = best(lambda: Project.open(root).load("p").render(photo="photo.png"), 3)
    prompt = Project.open(root).load("p")
    messages = prompt.render(photo="photo.png").messages
    cached = best(lambda: prompt.render(photo="photo.png"))
    full = best(lambda: sha256_of({"messages": messages}))
    short = best(lambda: sha256_of({"messages": hash_view(messages)}))
    return f"{size:>10,}  {first:>10.1f} ms  {cached:>11.2f} ms  {full:>16.1f} ms  {short:>9.3f} ms"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "llmops.yaml").write_text("version: 1\n")
        (root / "prompts").mkdir()
        (root / "prompts/p.prompt.yaml").write_text(PROMPT)
        print(
            f"{'size':>10}  {'first render':>13}  {'cached render':>14}  {'key: full data URL':>19}  {'key: sha256':>12}"
        )
        for size in (1_000, 1_000_000, 20_000_000):
            print(row(root, size))


if __name__ == "__main__":
    main()
