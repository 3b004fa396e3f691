"""Build the sdist and the wheel the way a PEP 517 frontend does, for the packaging tests.

The build backend runs in a build environment of its own (``[build-system] requires`` installed into a fresh
venv, from the package index or pip's cache), the sdist is built from a copy of the checkout, and the wheel
is built from the *unpacked sdist*, as ``python -m build`` does: a file missing from the sdist is then missing
from the wheel too, and a test notices.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

HOOK = "import sys, setuptools.build_meta as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


def build_env(dest: Path, source: Path) -> Path:
    """A venv holding the build requirements of ``source/pyproject.toml``; returns its python."""
    requires = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    subprocess.run([sys.executable, "-m", "venv", str(dest)], check=True, capture_output=True)
    python = dest / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requires],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"could not install the build requirements {requires}: {proc.stderr[-2000:]}")
    return python


def _hook(python: Path, hook: str, cwd: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(python), "-c", HOOK, hook, str(out)], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{hook} failed: {proc.stderr[-3000:]}")
    return out / proc.stdout.strip().splitlines()[-1]


def build(source: Path, work: Path, python: Path) -> Built:
    """sdist from ``source``, then the wheel from the unpacked sdist (both under ``work/dist``)."""
    dist = work / "dist"
    sdist = _hook(python, "build_sdist", source, dist)
    unpacked = work / "unpacked"
    with tarfile.open(sdist) as tar:
        tar.extractall(unpacked, filter="data")
    (root,) = list(unpacked.iterdir())
    wheel = _hook(python, "build_wheel", root, dist)
    return Built(sdist, wheel)
