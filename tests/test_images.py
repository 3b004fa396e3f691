"""Image and file inputs: header sniffing, rendering to content parts, the wire (litellm over real HTTP to the
loopback server), cache keys by the bytes' sha256, per-sample input digests, HTML thumbnails, and this
repository's own image prompt."""

# ruff: noqa: F811  (pytest fixtures imported by name)

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import PromptFileError, VariablesError
from llmops_cli.evals.results import load_results
from llmops_cli.evals.runner import EvalOptions, RunOutcome, run_eval
from llmops_cli.media.sniff import NotMedia, sniff
from llmops_cli.models.wire import build_request, wire_message
from llmops_cli.project import Project
from llmops_cli.records.content import content_text, hash_view
from tests.conftest import REPO_ROOT, run_cli, write
from tests.support.evalproj import KEY_ENV, KEY_VALUE
from tests.support.fakellm import FakeLLM
from tests.support.fixtures import fake_llm  # noqa: F401
from tests.support.images import IMAGE_PROMPT, gif, image_project, jpeg, pdf, png, webp_vp8l, webp_vp8x

ENV = {"PYTHONPATH": str(REPO_ROOT), KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}

GOLDEN = """
cases:
  - id: red
    vars: {photo: evals/img/red.png}
    assert: [{type: icontains, value: fake}]
  - id: blue
    vars: {photo: evals/img/blue.png, note: be brief}
    assert: [{type: icontains, value: fake}]
"""


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)


def _project(root: Path, url: str, golden: str = GOLDEN) -> Path:
    image_project(root, url, golden)
    (root / "evals/img").mkdir(parents=True, exist_ok=True)
    (root / "evals/img/red.png").write_bytes(png(color=(220, 20, 20)))
    (root / "evals/img/blue.png").write_bytes(png(color=(20, 20, 220)))
    return root


def _run(root: Path) -> RunOutcome:
    return run_eval(Project.open(root), EvalOptions(), notify=lambda _m: None)


def _ok(out: RunOutcome) -> list[dict[str, Any]]:
    """The samples of a run, each asserted to have passed."""
    samples = load_results(out.results_path).to_dict()["samples"]
    assert {s["status"] for s in samples} == {"pass"}, samples
    return samples


def _image_urls(body: dict[str, Any]) -> list[str]:
    return [
        p["image_url"]["url"]
        for m in body["messages"]
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if p.get("type") == "image_url"
    ]


# -- sniffing -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "media_type", "size"),
    [
        (png(7, 5), "image/png", (7, 5)),
        (jpeg(640, 480), "image/jpeg", (640, 480)),
        (jpeg(33, 21, exif=3000), "image/jpeg", (33, 21)),  # the frame header after a large EXIF segment
        (gif(12, 9), "image/gif", (12, 9)),
        (webp_vp8x(300, 200), "image/webp", (300, 200)),
        (webp_vp8l(17, 3), "image/webp", (17, 3)),
        (pdf(), "application/pdf", (None, None)),
    ],
)
def test_sniff_reads_type_and_dimensions_from_the_header(data: bytes, media_type: str, size: tuple[Any, Any]) -> None:
    found = sniff(data)
    assert (found.media_type, found.width, found.height) == (media_type, *size)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, world",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff\xe0\x00\x01",
        b"RIFF\x00\x00\x00\x00WEBPVP8Q",
        b"GIF89a",
    ],
)
def test_sniff_refuses_what_it_does_not_know_or_what_is_cut_short(data: bytes) -> None:
    with pytest.raises(NotMedia):
        sniff(data)


# -- rendering ----------------------------------------------------------------------------------------------
def test_render_attaches_a_content_part_with_the_bytes_digest_and_a_data_url(tmp_path: Path) -> None:
    root = _project(tmp_path, "http://127.0.0.1:9/v1")
    prompt = Project.open(root).load("vision/describe")
    rendered = prompt.render(photo="evals/img/red.png")
    data = (root / "evals/img/red.png").read_bytes()
    system, user = rendered.messages
    assert system == {"role": "system", "content": "You describe photos."}
    text, image = user["content"]
    assert text == {"type": "text", "text": "Describe the photo."}
    assert image["type"] == "image" and image["media_type"] == "image/png" and image["name"] == "photo"
    assert image["sha256"] == hashlib.sha256(data).hexdigest() and image["size"] == len(data)
    assert image["url"] == "data:image/png;base64," + base64.b64encode(data).decode()
    assert "evals/img" not in json.dumps(rendered.messages)  # the path is never in the request
    assert rendered.input_digests() == {"photo": "sha256:" + hashlib.sha256(data).hexdigest()}
    # the hash view and to_dict() carry the digest, not the data URL
    assert "base64" not in json.dumps(hash_view(rendered.messages)) and "base64" not in json.dumps(rendered.to_dict())
    # the wire view: OpenAI image_url parts
    wire = [wire_message(m) for m in build_request("openai/gpt-4o", rendered.messages).messages]
    assert wire[1]["content"][1] == {"type": "image_url", "image_url": {"url": image["url"]}}
    assert re.fullmatch(
        r"Describe the photo\.\n\[image photo \d+ B sha256:[0-9a-f]{12}…\]", content_text(user["content"])
    )


def test_library_callers_may_pass_bytes_and_https_urls(tmp_path: Path) -> None:
    prompt = Project.open(_project(tmp_path, "http://127.0.0.1:9/v1")).load("vision/describe")
    part = prompt.render(photo=jpeg(20, 10)).messages[1]["content"][1]
    assert part["media_type"] == "image/jpeg" and part["url"].startswith("data:image/jpeg;base64,")
    url = "https://cdn.example.com/p/1.png?sig=abc"
    remote = prompt.render(photo=url)
    assert remote.messages[1]["content"][1] == {"type": "image", "media_type": "image/png", "url": url, "name": "photo"}
    assert remote.input_digests()["photo"].startswith("url-sha256:")


def test_prompt_render_cli_shows_the_image_label(tmp_path: Path) -> None:
    root = _project(tmp_path, "http://127.0.0.1:9/v1")
    r = run_cli("prompt", "render", "vision/describe", "--case", "blue", cwd=root, env=ENV)
    assert r.exit_code == 0, r.stderr
    digest = hashlib.sha256((root / "evals/img/blue.png").read_bytes()).hexdigest()
    assert f"[image photo {len(png())} B sha256:{digest[:12]}…]" in r.stdout
    assert "Describe the photo. be brief" in r.stdout
    j = run_cli("prompt", "render", "vision/describe", "--json", "--var", "photo=@evals/img/red.png", cwd=root, env=ENV)
    assert j.exit_code == 0, j.stderr
    assert (
        json.loads(j.stdout)["messages"][1]["content"][1]["sha256"]
        == hashlib.sha256(png(color=(220, 20, 20))).hexdigest()
    )


def test_a_media_input_must_be_attached_and_attach_must_name_one(tmp_path: Path) -> None:
    root = _project(tmp_path, "http://127.0.0.1:9/v1")
    write(
        root,
        "prompts/a.prompt.yaml",
        "model: chat\ninputs: {photo: {type: image}}\nmessages:\n  - {role: user, content: hi}\n",
    )
    write(
        root,
        "prompts/b.prompt.yaml",
        "model: chat\ninputs: {q: {type: string}}\nmessages:\n  - {role: user, content: '{{ q }}', attach: [q]}\n",
    )
    write(
        root,
        "prompts/c.prompt.yaml",
        "model: chat\ninputs: {p: {type: pdf}}\nmessages:\n  - {role: system, content: hi, attach: [p]}\n",
    )
    write(
        root,
        "prompts/d.prompt.yaml",
        "model: chat\ninputs: {q: {type: string, max_bytes: 10}}\nmessages:\n  - {role: user, content: '{{ q }}'}\n",
    )
    project = Project.open(root)
    for name, words in [("a", "attached to no message"), ("b", "is not an image, file or pdf input"),
                        ("c", "only user messages"), ("d", "only allowed for types image")]:  # fmt: skip
        with pytest.raises(PromptFileError, match=words):
            project.load(name)


def test_attach_is_in_the_content_hash_and_old_hashes_do_not_move(tmp_path: Path) -> None:
    root = _project(tmp_path, "http://127.0.0.1:9/v1")
    p = Project.open(root).load("vision/describe")
    assert p.hash_payload()["messages"][1]["attach"] == ["photo"]
    assert "attach" not in p.hash_payload()["messages"][0]  # text-only messages hash as before
    assert p.hash_payload()["inputs"]["photo"] == {"type": "image"}


# -- on the wire, in the cache and in the results ---------------------------------------------------------
def test_eval_sends_image_url_parts_and_records_input_digests(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = _project(tmp_path, fake_llm.url)
    out = _run(root)
    _ok(out)
    bodies = {json.dumps(_image_urls(r.body)) for r in fake_llm.chat_requests}
    expected = {
        json.dumps(["data:image/png;base64," + base64.b64encode((root / f"evals/img/{c}.png").read_bytes()).decode()])
        for c in ("red", "blue")
    }
    assert bodies == expected
    user = fake_llm.chat_requests[0].body["messages"][1]
    assert user["content"][0] == {"type": "text", "text": user["content"][0]["text"]}
    results = load_results(out.results_path).to_dict()
    digests = {s["case_id"]: s["inputs"] for s in results["samples"]}
    for c in ("red", "blue"):
        assert digests[c] == {
            "photo": "sha256:" + hashlib.sha256((root / f"evals/img/{c}.png").read_bytes()).hexdigest()
        }
    assert "evals/img" not in Path(out.results_path).read_text()


def test_renamed_image_keeps_the_cache_key_changed_byte_does_not(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = _project(tmp_path, fake_llm.url)
    _ok(_run(root))
    first = len(fake_llm.chat_requests)
    assert first == 2
    # rename both files and point the golden set at the new names: every answer comes from the cache
    for c in ("red", "blue"):
        (root / f"evals/img/{c}.png").rename(root / f"evals/img/renamed-{c}.png")
    write(
        root,
        "evals/vision/describe.yaml",
        GOLDEN.replace("img/red", "img/renamed-red").replace("img/blue", "img/renamed-blue"),
    )
    out = _run(root)
    assert all(s["replay"] for s in _ok(out)) and len(fake_llm.chat_requests) == first
    # one changed byte in one image: exactly that case is asked again
    data = bytearray((root / "evals/img/renamed-red.png").read_bytes())
    data[-13] ^= 0x01  # the IDAT CRC: the same header, other bytes
    (root / "evals/img/renamed-red.png").write_bytes(bytes(data))
    out = _run(root)
    replays = {s["case_id"]: s["replay"] for s in _ok(out)}
    assert len(fake_llm.chat_requests) == first + 1
    assert replays == {"red": False, "blue": True}


def test_serving_complete_sends_the_image(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = _project(tmp_path, fake_llm.url)
    prompt = Project.open(root).load("vision/describe")
    prompt.complete(photo=gif(3, 3), log=False)
    (url,) = _image_urls(fake_llm.chat_requests[-1].body)
    assert url == "data:image/gif;base64," + base64.b64encode(gif(3, 3)).decode()


# -- HTML report --------------------------------------------------------------------------------------------
def test_html_report_embeds_bounded_thumbnails(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = _project(tmp_path, fake_llm.url)
    out = _run(root)
    html_file = tmp_path / "report.html"
    r = run_cli("eval", "report", str(out.results_path), "--html", str(html_file), cwd=root, env=ENV)
    assert r.exit_code == 0, r.stderr
    page = html_file.read_text()
    data = json.loads(re.search(r'id="llmops-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    rows = {c["id"]: c for c in _cases(data)}
    (thumb,) = rows["red"]["messages"][1]["images"]
    assert (
        thumb["src"] == "data:image/png;base64," + base64.b64encode((root / "evals/img/red.png").read_bytes()).decode()
    )
    assert thumb["label"].startswith("[image photo ")
    assert "img-src data:;" in page.replace("img-src data: ", "img-src data:;")  # the CSP loads no remote image
    assert "https://" not in json.dumps(data)


def _cases(data: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if "messages" in v and "id" in v and "samples" in v:
                out.append(v)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(data)
    return out


def test_thumbnails_are_left_out_for_large_or_remote_images() -> None:
    from llmops_cli.report.html import MAX_THUMB_BYTES, _thumbs

    big = {"type": "image", "media_type": "image/png", "sha256": "a" * 64, "size": MAX_THUMB_BYTES + 1,
           "url": "data:image/png;base64,AAAA", "name": "photo"}  # fmt: skip
    remote = {"type": "image", "url": "https://example.com/x.png", "name": "photo"}
    svg = {"type": "image", "media_type": "image/svg+xml", "sha256": "b" * 64, "size": 10,
           "url": "data:image/svg+xml;base64,PHN2Zz4=", "name": "p"}  # fmt: skip
    mismatched = {**big, "size": 4, "url": 'data:image/png;base64,AAAA"onerror=x'}
    thumbs = _thumbs([{"type": "text", "text": "t"}, big, remote, svg, mismatched])
    assert thumbs is not None and [t["src"] for t in thumbs] == [None, None, None, None]


# -- this repository's own image prompt ---------------------------------------------------------------------
def test_repo_receipt_prompt_runs_against_the_loopback_server(tmp_path: Path, fake_llm: FakeLLM) -> None:
    import shutil

    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "prompts", root / "prompts")
    (root / "evals/receipts").mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "evals/receipts/photos", root / "evals/receipts/photos")
    shutil.copy(REPO_ROOT / "evals/receipts/triage.yaml", root / "evals/receipts/triage.yaml")
    from tests.support.evalproj import config_text

    write(root, "llmops.yaml", config_text(fake_llm.url))

    def answer(body: dict[str, Any]) -> str:
        (url,) = _image_urls(body)
        digest = hashlib.sha256(base64.b64decode(url.split(",", 1)[1])).hexdigest()
        blurry = hashlib.sha256((root / "evals/receipts/photos/blurry.png").read_bytes()).hexdigest()
        other = hashlib.sha256((root / "evals/receipts/photos/not-a-receipt.png").read_bytes()).hexdigest()
        ok = digest not in (blurry, other)
        return json.dumps({"is_receipt": digest != other, "legible": ok, "purchase_type": "grocery" if ok else "unknown",
                           "needs_human": not ok})  # fmt: skip

    fake_llm.responder = answer
    out = run_eval(Project.open(root), EvalOptions(names=["receipts/triage"]), notify=lambda _m: None)
    assert len(_ok(out)) == 4 and len(fake_llm.chat_requests) == 4
    # the bytes the repository carries are the ones the generator writes
    import runpy

    photos = runpy.run_path(str(REPO_ROOT / "bench/receipt_photos.py"))["PHOTOS"]
    assert sorted(p.name for p in (REPO_ROOT / "evals/receipts/photos").iterdir()) == sorted(photos)
    for name, data in photos.items():
        assert (REPO_ROOT / "evals/receipts/photos" / name).read_bytes() == data


def test_validate_names_the_input_and_the_value(tmp_path: Path) -> None:
    prompt = Project.open(_project(tmp_path, "http://127.0.0.1:9/v1")).load("vision/describe")
    with pytest.raises(VariablesError, match=r"`photo`: evals/img/missing.png: no such file"):
        prompt.render(photo="evals/img/missing.png")


# -- token counts (estimates, budgets, diff --cost) ---------------------------------------------------------
def test_token_counts_estimate_images_from_their_header_and_never_fetch(tmp_path: Path) -> None:
    from llmops_cli.models.prices import count_tokens
    from llmops_cli.records.content import IMAGE_TOKENS_MAX, image_tokens

    assert (image_tokens(1024, 1024), image_tokens(4, 3), image_tokens(4096, 8192)) == (765, 255, IMAGE_TOKENS_MAX)
    prompt = Project.open(_project(tmp_path, "http://127.0.0.1:9/v1")).load("vision/describe")
    text_only = [{"role": "user", "content": "Describe the photo."}]
    base = count_tokens("openai/gpt-4o-mini", text_only)
    local = prompt.render(photo=png(1024, 1024)).messages[1:]
    assert count_tokens("openai/gpt-4o-mini", local) == base + 765
    # an https image is never measured (litellm's counter would download it): the largest image's count
    remote = prompt.render(photo="https://192.0.2.1/photo.png").messages[1:]
    assert count_tokens("openai/gpt-4o-mini", remote) == base + IMAGE_TOKENS_MAX


def test_eval_estimate_counts_the_images(tmp_path: Path) -> None:
    root = _project(tmp_path, "http://127.0.0.1:9/v1")
    r = run_cli("eval", "run", "vision/describe", "--estimate", cwd=root, env=ENV)
    assert r.exit_code == 0, r.stderr
    from llmops_cli.models.prices import count_tokens

    texts = [[{"role": "system", "content": "You describe photos."}, {"role": "user", "content": t}]
             for t in ("Describe the photo.", "Describe the photo. be brief")]  # fmt: skip
    expected = sum(count_tokens("openai/fake-model", m) for m in texts) + 2 * 255  # two 4×3 images
    row = next(line for line in r.stdout.splitlines() if line.startswith("vision/describe"))
    assert row.split()[5] == str(expected), r.stdout


def test_size_guard_counts_the_text_not_the_base64(tmp_path: Path) -> None:
    from llmops_cli.safety.guards import _text

    prompt = Project.open(_project(tmp_path, "http://127.0.0.1:9/v1")).load("vision/describe")
    content = prompt.render(photo=png(200, 200)).messages[1]["content"]
    assert "base64" not in _text(content) and _text(content).startswith("Describe the photo.\n[image photo ")
    assert content_text([{"type": "image", "bogus": 1}, {"type": "text", "text": "t"}]) == "[image]\nt"


def test_attack_never_injects_into_an_image_path(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = _project(tmp_path, fake_llm.url)
    r = run_cli("eval", "attack", "vision/describe", "--json", cwd=root, env=ENV, timeout=300)
    assert r.exit_code in (0, 1), r.stderr
    assert "left out" not in r.stdout + r.stderr  # no derived case was refused for a broken path
    paths = {url for req in fake_llm.chat_requests for url in _image_urls(req.body)}
    originals = {
        "data:image/png;base64," + base64.b64encode((root / f"evals/img/{c}.png").read_bytes()).decode()
        for c in ("red", "blue")
    }
    assert paths and paths <= originals


# -- the Anthropic request shape, on the wire ----------------------------------------------------------------
class _AnthropicStub:
    """A loopback endpoint that answers the Anthropic Messages API and keeps each request body."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies: list[dict[str, Any]] = []
        self.bodies = bodies

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                bodies.append(json.loads(self.rfile.read(length)))
                reply = {
                    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20241022",
                    "content": [{"type": "text", "text": "a fake description"}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 3},
                }  # fmt: skip
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_anthropic_request_carries_image_and_document_blocks(tmp_path: Path) -> None:
    stub = _AnthropicStub()
    try:
        prompt_text = IMAGE_PROMPT_TWO
        root = _project(tmp_path, stub.url)
        write(root, "llmops.yaml", f"models:\n  claude:\n    model: anthropic/claude-3-5-sonnet-20241022\n"
                                   f"    api_base: {stub.url}\n    api_key_env: {KEY_ENV}\n")  # fmt: skip
        write(root, "prompts/vision/both.prompt.yaml", prompt_text)
        (root / "evals/img/doc.pdf").write_bytes(pdf())
        prompt = Project.open(root).load("vision/both")
        prompt.complete(photo="evals/img/red.png", doc="evals/img/doc.pdf", log=False)
    finally:
        stub.close()
    (body,) = stub.bodies
    (user,) = [m for m in body["messages"] if m["role"] == "user"]
    blocks = user["content"]
    kinds = [b["type"] for b in blocks]
    assert kinds[0] == "text" and "image" in kinds and "document" in kinds, blocks
    image = next(b for b in blocks if b["type"] == "image")
    assert image["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": base64.b64encode((root / "evals/img/red.png").read_bytes()).decode(),
    }
    document = next(b for b in blocks if b["type"] == "document")
    assert document["source"]["media_type"] == "application/pdf"
    assert base64.b64decode(document["source"]["data"]) == pdf()


IMAGE_PROMPT_TWO = """
model: claude
params: {max_tokens: 50}
inputs:
  photo: {type: image}
  doc: {type: pdf}
messages:
  - role: system
    content: You read receipts.
  - role: user
    content: Compare the photo with the invoice.
    attach: [photo, doc]
"""


def test_openai_request_carries_the_pdf_as_a_file_part(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = _project(tmp_path, fake_llm.url)
    write(root, "prompts/vision/both.prompt.yaml", IMAGE_PROMPT_TWO.replace("model: claude", "model: chat"))
    (root / "evals/img/doc.pdf").write_bytes(pdf())
    Project.open(root).load("vision/both").complete(photo="evals/img/blue.png", doc="evals/img/doc.pdf", log=False)
    user = fake_llm.chat_requests[-1].body["messages"][1]
    assert user["content"] == [
        {"type": "text", "text": "Compare the photo with the invoice."},
        {
            "type": "image_url",
            "image_url": {
                "url": "data:image/png;base64," + base64.b64encode((root / "evals/img/blue.png").read_bytes()).decode()
            },
        },
        {
            "type": "file",
            "file": {
                "file_data": "data:application/pdf;base64," + base64.b64encode(pdf()).decode(),
                "filename": "doc.pdf",
            },
        },
    ]


def test_prompt_diff_calls_out_narrowed_media_limits_and_attach_changes(tmp_path: Path) -> None:
    from llmops_cli.diff.impact import classify_impact

    root = _project(tmp_path, "http://127.0.0.1:9/v1")
    base = Project.open(root).load("vision/describe")
    narrowed = IMAGE_PROMPT.replace(
        "photo: {type: image}", "photo: {type: image, max_bytes: 1000, media_types: [image/png]}"
    )
    write(root, "prompts/vision/narrow.prompt.yaml", narrowed)
    impact = classify_impact(base, Project.open(root).load("vision/narrow"))
    assert impact.level == "breaking"
    assert any("max_bytes 20,000,000 → 1,000" in r for r in impact.reasons)
    assert any("no longer takes application/pdf, image/gif, image/jpeg, image/webp" in r for r in impact.reasons)
    moved = IMAGE_PROMPT.replace("    attach: [photo]", "  - role: user\n    content: Here it is.\n    attach: [photo]")
    write(root, "prompts/vision/moved.prompt.yaml", moved)
    changes = classify_impact(base, Project.open(root).load("vision/moved")).changes
    assert "message_attach_changed" in {c.kind for c in changes}
