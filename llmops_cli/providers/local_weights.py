"""Prepared weights for the shipped offline model: SmolLM2's Q4_1 file re-encoded once as Q8_0, and cached.

On an AVX2 build, llama.cpp evaluates prompts through its tiled matrix kernels only for some block types; Q4_1 is
not one of them. Re-encoding the shipped Q4_1 weights as Q8_0 (8-bit blocks of 32) is close to lossless (each
4-bit level is representable to within 1/254 of the block's largest weight) and makes prompt evaluation ~2x
cheaper; generation speed is unchanged. The file (145 MB) is written once per model file to the user's cache
folder and reused by every later process.

``LLMOPS_LOCAL_WEIGHTS=original`` uses the shipped file as is; ``LLMOPS_LOCAL_MODEL_CACHE`` moves the folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import threading
from pathlib import Path

from .. import settings

LLAMA_FTYPE_MOSTLY_Q8_0 = 7
_FINGERPRINT_BYTES = 1 << 20
_lock = threading.Lock()


def cache_dir() -> Path:
    """Where prepared weights live: ``LLMOPS_LOCAL_MODEL_CACHE``, else ``$XDG_CACHE_HOME/llmops/models``."""
    explicit = settings.LOCAL_MODEL_CACHE.text()
    if explicit:
        return Path(explicit).expanduser()
    base = settings.XDG_CACHE_HOME.text() or str(Path.home() / ".cache")
    return Path(base) / "llmops" / "models"


def fingerprint(path: Path) -> str:
    """A cheap identity of a model file: its size and a hash of its first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(_FINGERPRINT_BYTES))
        if size > _FINGERPRINT_BYTES:
            fh.seek(max(_FINGERPRINT_BYTES, size - _FINGERPRINT_BYTES))
            digest.update(fh.read(_FINGERPRINT_BYTES))
    return digest.hexdigest()[:16]


def requantize(source: Path, target: Path, *, threads: int = 1) -> None:
    """Write ``source`` re-encoded as Q8_0 to ``target`` (through a temporary file, so readers never see half)."""
    from llama_cpp import llama_cpp as capi
    from llama_cpp._logger import set_verbose

    set_verbose(False)  # llama.cpp logs a line per tensor otherwise
    params = capi.llama_model_quantize_default_params()
    params.ftype = LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    params.nthread = max(1, threads)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        rc = capi.llama_model_quantize(str(source).encode(), str(tmp).encode(), ctypes.byref(params))
        if rc != 0 or not tmp.is_file():
            raise OSError(f"llama_model_quantize returned {rc}")
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def prepared_path(source: Path, *, threads: int = 1) -> Path:
    """The Q8_0 copy of ``source`` (made on first use); ``source`` itself when that is off or impossible."""
    if settings.LOCAL_WEIGHTS.text().lower() in ("original", "off", "0"):
        return source
    try:
        target = cache_dir() / f"{source.stem}.{fingerprint(source)}.q8_0.gguf"
        if target.is_file():
            return target
        with _lock:
            if not target.is_file():
                requantize(source, target, threads=threads)
        return target
    except OSError:
        return source  # read-only home, full disk: the shipped file works, only slower
