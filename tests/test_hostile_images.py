"""Hostile image/file inputs from golden sets, --var and library calls: each a clean exit 2 (or
:class:`VariablesError`) naming the file and line, within bounds — nothing read beyond the limit, nothing
decoded, nothing outside the project, no blocking on a FIFO, no credential echoed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from llmops_cli.errors import VariablesError
from llmops_cli.media.sniff import NotMedia, sniff
from llmops_cli.project import Project
from tests.conftest import REPO_ROOT, GitRepo, run_cli, write
from tests.support.evalproj import KEY_ENV, KEY_VALUE
from tests.support.images import IMAGE_PROMPT, image_project, jpeg, pdf, png

ENV = {"PYTHONPATH": str(REPO_ROOT), KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
URL = "http://127.0.0.1:9/v1"  # nothing listens: no case may get as far as a model call


def _project(root: Path, prompt: str = IMAGE_PROMPT) -> Path:
    image_project(root, URL, prompt=prompt)
    (root / "evals/img").mkdir(parents=True, exist_ok=True)
    (root / "evals/img/ok.png").write_bytes(png())
    return root


def _refused(root: Path, value: str, *words: str) -> str:
    """``prompt render`` with ``photo=value`` (exit 2), then an ``eval run`` whose golden case uses it (exit 2,
    golden file:line); returns the render's stderr."""
    r = run_cli("prompt", "render", "vision/describe", "--var", f"photo={value}", cwd=root, env=ENV, timeout=60)
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    golden = f"cases:\n  - id: ok\n    vars: {{photo: evals/img/ok.png}}\n  - id: bad\n    vars: {{photo: {value!r}}}\n"
    write(root, "evals/vision/describe.yaml", golden)
    e = run_cli("eval", "run", "vision/describe", cwd=root, env=ENV, timeout=60)
    assert e.exit_code == 2, (e.exit_code, e.stdout, e.stderr)
    assert "evals/vision/describe.yaml:5: case 'bad'" in e.stderr, e.stderr
    return r.stderr


def test_not_an_image(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "evals/img/notes.png").write_text("just some text, not a PNG\n")
    _refused(root, "evals/img/notes.png", "not a PNG, JPEG, GIF, WebP or PDF file")


def test_wrong_extension(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "evals/img/photo.png").write_bytes(jpeg(10, 10))
    _refused(root, "evals/img/photo.png", "the bytes are JPEG, the file name says PNG")


def test_a_pdf_is_not_an_image(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "evals/img/doc.pdf").write_bytes(pdf())
    _refused(root, "evals/img/doc.pdf", "PDF is not accepted here")


def test_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    root = _project(tmp_path)
    bomb = png(2, 2, claim=(100_000, 100_000))
    assert len(bomb) < 1024
    (root / "evals/img/bomb.png").write_bytes(bomb)
    _refused(root, "evals/img/bomb.png", "100,000 × 100,000 pixels", "decompression bomb")
    # one long side is enough, and so is a huge area within the side limit
    (root / "evals/img/tall.png").write_bytes(png(2, 2, claim=(1, 20_000)))
    (root / "evals/img/area.png").write_bytes(png(2, 2, claim=(16_000, 16_000)))
    (root / "evals/img/zero.png").write_bytes(png(2, 2, claim=(0, 5)))
    prompt = Project.open(root).load("vision/describe")
    for name, words in [("tall", "1 × 20,000"), ("area", "16,000 × 16,000"), ("zero", "0 × 5")]:
        with pytest.raises(VariablesError, match=words):
            prompt.render(photo=f"evals/img/{name}.png")


def test_gif_frame_larger_than_its_screen_is_a_bomb_too(tmp_path: Path) -> None:
    import struct

    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00" * 6  # 1 × 1, a 2-colour table
    gce = b"\x21\xf9\x04\x00\x00\x00\x00\x00"  # a graphic control extension (skipped)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65_535, 65_535, 0) + b"\x02\x02\x4c\x01\x00"
    root = _project(tmp_path, IMAGE_PROMPT)
    prompt = Project.open(root).load("vision/describe")
    with pytest.raises(VariablesError, match="65,535 × 65,535 pixels"):
        prompt.render(photo=screen + gce + frame + b";")
    assert (
        sniff(screen + gce + frame.replace(struct.pack("<HH", 65_535, 65_535), struct.pack("<HH", 1, 1)) + b";").width
        == 1
    )
    with pytest.raises(NotMedia, match="malformed"):
        sniff(screen + b"\x99")


def test_a_100_mb_file_is_refused_without_being_read(tmp_path: Path) -> None:
    root = _project(tmp_path)
    with open(root / "evals/img/huge.png", "wb") as fh:
        fh.write(png())
        fh.truncate(100_000_000)  # sparse: 100 MB on paper
    start = time.perf_counter()
    _refused(root, "evals/img/huge.png", "100,000,000 bytes, more than the 20,000,000 allowed")
    prompt = Project.open(root).load("vision/describe")
    t0 = time.perf_counter()
    with pytest.raises(VariablesError, match="more than the 20,000,000 allowed"):
        prompt.render(photo="evals/img/huge.png")
    assert time.perf_counter() - t0 < 0.5 and time.perf_counter() - start < 60
    with pytest.raises(VariablesError, match="more than the 20,000,000 allowed"):
        prompt.render(photo=b"\x89PNG" + bytes(20_000_001))  # bytes from a library caller: the same limit


def test_max_bytes_and_media_types_of_the_input(tmp_path: Path) -> None:
    prompt_text = IMAGE_PROMPT.replace(
        "photo: {type: image}", "photo: {type: image, max_bytes: 100, media_types: [image/jpeg]}"
    )
    root = _project(tmp_path, prompt_text)
    prompt = Project.open(root).load("vision/describe")
    with pytest.raises(VariablesError, match=r"PNG is not accepted here \(accepted: JPEG"):
        prompt.render(photo="evals/img/ok.png")
    with pytest.raises(VariablesError, match="more than the 100 allowed"):
        prompt.render(photo=jpeg(10, 10, exif=200))
    with pytest.raises(Exception, match="less than or equal to 50000000"):
        write(
            root, "prompts/x.prompt.yaml", IMAGE_PROMPT.replace("{type: image}", "{type: image, max_bytes: 60000000}")
        )
        Project.open(root).load("x")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("../outside.png", "a path with '..'"),
        ("evals/../../outside.png", "a path with '..'"),
        ("/etc/passwd", "an absolute path"),
        ("~/photo.png", "an absolute path"),
        ("C:/photo.png", "an absolute path"),
        ("evals\\img\\ok.png", "backslashes"),
        (".git/config", "a path into .git"),
        ("evals/img/missing.png", "no such file"),
        ("evals/img", "not a regular file"),
    ],
)
def test_paths_out_of_the_project_are_refused(tmp_path: Path, value: str, words: str) -> None:
    root = _project(tmp_path / "proj")
    (tmp_path / "outside.png").write_bytes(png())
    (root / ".git").mkdir()
    (root / ".git/config").write_bytes(png())
    _refused(root, value, words)


def test_symlink_out_of_the_project_is_refused_inside_is_followed(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    (tmp_path / "secret.png").write_bytes(png(color=(1, 2, 3)))
    os.symlink(tmp_path / "secret.png", root / "evals/img/link-out.png")
    os.symlink("ok.png", root / "evals/img/link-in.png")
    _refused(root, "evals/img/link-out.png", "escapes the project root")
    prompt = Project.open(root).load("vision/describe")
    assert (
        prompt.render(photo="evals/img/link-in.png").input_digests()
        == prompt.render(photo="evals/img/ok.png").input_digests()
    )


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    root = _project(tmp_path)
    os.mkfifo(root / "evals/img/pipe.png")
    os.symlink("pipe.png", root / "evals/img/to-pipe.png")
    t0 = time.perf_counter()
    _refused(root, "evals/img/pipe.png", "not a regular file")
    prompt = Project.open(root).load("vision/describe")
    with pytest.raises(VariablesError, match="not a regular file"):
        prompt.render(photo="evals/img/to-pipe.png")
    assert time.perf_counter() - t0 < 60


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://alice:s3cretpw@img.example.com/r.png", "credentials"),
        ("https://s3cretpw@img.example.com/r.png", "credentials"),
        ("http://img.example.com/r.png", "'http' URL (only https"),
        ("file:///etc/passwd", "'file' URL"),
        ("ftp://img.example.com/r.png", "'ftp' URL"),
        ("data:image/png;base64,iVBORw0KGgo=", "'data' URL"),
        ("https://img.example.com/r.png#frag", "#fragment"),
        ("https:///nohost.png", "not a valid https URL"),
        ("https://img.example.com/" + "a" * 3000, "longer than 2,048"),
        ("https://img.example.com/r.pdf", "names a PDF file"),
    ],
)
def test_hostile_urls_are_refused_and_no_secret_is_echoed(tmp_path: Path, url: str, words: str) -> None:
    root = _project(tmp_path)
    err = _refused(root, url, words)
    assert "s3cretpw" not in err


def test_file_and_pdf_inputs_take_project_paths_only(tmp_path: Path) -> None:
    prompt_text = IMAGE_PROMPT.replace("photo: {type: image}", "photo: {type: pdf}")
    root = _project(tmp_path, prompt_text)
    (root / "evals/img/doc.pdf").write_bytes(pdf())
    prompt = Project.open(root).load("vision/describe")
    part = prompt.render(photo="evals/img/doc.pdf").messages[1]["content"][1]
    assert part["type"] == "file" and part["media_type"] == "application/pdf"
    with pytest.raises(VariablesError, match="a pdf input takes a project path, not a URL"):
        prompt.render(photo="https://example.com/doc.pdf")
    with pytest.raises(VariablesError, match="PNG is not accepted here"):
        prompt.render(photo="evals/img/ok.png")
    with pytest.raises(VariablesError, match="expected pdf, got integer"):
        prompt.render(photo=5)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff" + b"\xfe\x00\x02" * 400_000,  # 1.2 MB of empty comment segments: no frame header in the window
        b"\xff\xd8\xff\xe0\x00\x00",  # a segment length below 2
        b"\xff\xd8\xff\xe0\x00\x10" + b"\x00" * 14 + b"\x00\x00",  # garbage where the next marker should be
        b"\xff\xd8" + b"\xff" * 2_000_000,  # fill bytes for ever
        b"RIFF\x10\x00\x00\x00WEBPVP8X\x00",  # a VP8X header cut short
    ],
)
def test_malformed_headers_are_refused_quickly(data: bytes) -> None:
    t0 = time.process_time()  # CPU time: a loaded runner's waits are not the parser's work
    with pytest.raises(NotMedia):
        sniff(data)
    assert time.process_time() - t0 < 2.0


def test_symlink_blob_at_a_git_ref_is_refused(tmp_git_repo: GitRepo) -> None:
    repo = tmp_git_repo
    root = Path(repo.root)
    image_project(root, URL)
    (root / "evals/img").mkdir(parents=True, exist_ok=True)
    (root / "evals/img/ok.png").write_bytes(png())
    os.symlink("ok.png", root / "evals/img/link.png")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "images")
    prompt = Project.at_ref("HEAD", root).load("vision/describe")
    assert prompt.render(photo="evals/img/ok.png").input_digests()  # read from git objects
    with pytest.raises(VariablesError, match="symbolic link"):
        prompt.render(photo="evals/img/link.png")


def test_bytes_cannot_be_passed_through_the_command_line_as_a_path_trick(tmp_path: Path) -> None:
    root = _project(tmp_path)
    r = run_cli("prompt", "render", "vision/describe", "--var", "photo=@/etc/passwd", cwd=root, env=ENV)
    assert r.exit_code == 2 and "an absolute path" in r.stderr and "root:" not in r.stdout + r.stderr


def test_lint_reports_a_bad_image_in_a_golden_set_with_its_line(tmp_path: Path) -> None:
    root = _project(tmp_path)
    write(
        root,
        "evals/vision/describe.yaml",
        "cases:\n  - id: ok\n    vars: {photo: evals/img/ok.png}\n  - id: bad\n    vars: {photo: llmops.yaml}\n",
    )
    r = run_cli("prompt", "lint", "vision/describe", cwd=root, env=ENV)
    assert r.exit_code == 1, r.stderr
    assert "evals/vision/describe.yaml:5: error [case-vars] case 'bad': `photo`: llmops.yaml: not a PNG" in r.stdout
