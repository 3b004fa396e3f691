"""Clean installs for tests: a copy of the checkout as git would ship it, and a fresh virtual environment.

``make_venv`` creates a venv of its own (its own ``site-packages``, ``bin/``, console scripts) whose interpreter
also sees the dependencies already installed for the test run, through one ``.pth`` line naming that
``site-packages`` folder. Only the folder is added: the ``.pth`` hooks inside it (the editable install of the
checkout under test) are not processed, so ``import llmops_cli`` there finds only what was installed into the
new venv. This lets a wheel be installed with ``--no-deps`` (no download of litellm, scipy…) and still run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def shipped_files(root: Path = REPO_ROOT) -> list[str]:
    """Files git would commit: tracked plus untracked-but-not-ignored (relative paths)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    return [p for p in out.decode().split("\0") if p and (root / p).is_file()]


def copy_checkout(dest: Path, root: Path = REPO_ROOT) -> Path:
    """A copy of the checkout's shipped files (no build outputs, no .git, no venv)."""
    for rel in shipped_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    return dest


def make_venv(dest: Path) -> Path:
    """A fresh venv at ``dest`` seeing the test run's installed dependencies; returns its ``bin`` folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    bindir = dest / "bin"
    purelib = Path(
        subprocess.run(
            [str(bindir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    deps = sysconfig.get_paths()["purelib"]
    (purelib / "_test_run_dependencies.pth").write_text(deps + "\n", encoding="utf-8")
    return bindir
