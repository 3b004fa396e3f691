"""``llmops usage sample``: production calls back into a golden set.

::

    llmops usage sample LOGS --prompt support/answer \\
        --where "feedback < 0 or judge.rubric < 3 or outcome = error" --n 20 --to evals/support/answer.yaml

Picks up to N calls of the prompt matching ``--where`` (a seeded sample, :mod:`.logged`), and appends one case
per call to the golden set: ``id`` ``prod-<request id>``, ``vars`` the logged input variables, ``expected`` the
logged output with ``keep_output`` (successful calls only), tag ``production`` and ``metadata`` saying where it
came from (request id, time, version, arm, outcome, feedback). Every string is redacted again with the current
environment's keys.

Never a duplicate: a call whose case id, or whose variables, the golden set already holds is skipped, and so is
a call whose variables the prompt's ``inputs`` now refuse (counted). The same command run twice picks the same
calls and appends nothing the second time. The file is rewritten atomically: YAML cases are inserted right
after the last case of the ``cases`` block list (comments and layout kept); the result is parsed again and must
hold exactly the old cases followed by the new ones, or nothing is written. JSON Lines golden sets get one line
per case.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from ..errors import UsageError, UserError
from ..goldens import GoldenSet, parse_golden
from ..hashing import sha256_of
from ..limits import MAX_FILE_BYTES
from ..project import Project
from ..redact import redactor
from ..sources import check_outputs
from .engine import Records
from .logged import LoggedCall, load_content, select_calls
from .where import Where

MAX_CASES = 10_000
TAG = "production"


@dataclass
class SampleResult:
    """What ``usage sample`` found and appended."""

    prompt: str
    file: str
    matched: int
    picked: int
    added: list[str] = field(default_factory=list)
    duplicates: int = 0
    no_content: int = 0
    refused: int = 0
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "llmops.usage.sample/1", "prompt": self.prompt, "file": self.file,
                "matched": self.matched, "picked": self.picked, "added": self.added,
                "skipped": {"duplicates": self.duplicates, "no_content": self.no_content, "refused": self.refused},
                "skipped_examples": self.examples}  # fmt: skip


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _redacted(value: Any, redact: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k): _redacted(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, redact) for v in value]
    return value


def case_of(call: LoggedCall, *, keep_output: bool, redact: Any) -> dict[str, Any]:
    """The golden case of a logged call (content loaded)."""
    case: dict[str, Any] = {"id": f"prod-{call.request_id}", "vars": _redacted(call.vars or {}, redact)}
    if keep_output and call.outcome == "ok" and call.output is not None:
        case["expected"] = redact(call.output)
    case["tags"] = [TAG]
    meta: dict[str, Any] = {"request_id": call.request_id, "logged_at": call.ts.strftime("%Y-%m-%dT%H:%M:%SZ")}
    for key in ("version", "channel", "arm", "outcome", "feedback"):
        value = getattr(call, key)
        if value is not None:
            meta[key] = value
    case["metadata"] = meta
    return case


def _vars_key(variables: dict[str, Any]) -> str:
    return sha256_of(variables)


def _dump_items(cases: list[dict[str, Any]], indent: int) -> str:
    text = yaml.dump(cases, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=100)  # fmt: skip
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def appended_text(text: str | None, file: str, cases: list[dict[str, Any]], prompt: str) -> str:
    """The golden-set file's new text with ``cases`` after its existing ones (see the module doc)."""
    if file.endswith(".jsonl"):
        base = text or ""
        if base and not base.endswith("\n"):
            base += "\n"
        return base + "".join(json.dumps(c, ensure_ascii=True, separators=(", ", ": ")) + "\n" for c in cases)
    if text is None or not text.strip():
        header = f"# Golden set of {prompt}. Cases from production calls: llmops usage sample.\n"
        return (text or header) + "cases:\n" + _dump_items(cases, 2)
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if isinstance(root, yaml.SequenceNode):
        seq = root
    elif isinstance(root, yaml.MappingNode):
        found = [v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "cases"]
        if not found or not isinstance(found[0], yaml.SequenceNode):
            raise UsageError("cannot append: the golden set has no 'cases' list", file=file)
        seq = found[0]
    else:
        raise UsageError("cannot append: not a golden set (a list of cases or a mapping with 'cases')", file=file)
    if seq.flow_style or not seq.value:
        raise UsageError("cannot append: write 'cases' as a block list ('- id: …' lines) first", file=file)
    lines = text.splitlines(keepends=True)
    first = lines[seq.value[0].start_mark.line]
    indent = len(first) - len(first.lstrip(" "))
    end = seq.value[-1].end_mark
    at = end.line if end.column == 0 else end.line + 1
    head = "".join(lines[:at])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + _dump_items(cases, indent) + "".join(lines[at:])


def _write_atomic(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(prefix=".llmops-sample-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sample_to_golden(
    project: Project,
    recs: Records,
    prompt_name: str,
    *,
    where: Where | None,
    n: int,
    to: str | None = None,
    keep_output: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    seed: int = 0,
) -> SampleResult:
    """Append up to ``n`` matching production calls of ``prompt_name`` to its golden set (module doc)."""
    if not 1 <= n <= MAX_CASES:
        raise UsageError(f"--n must be 1-{MAX_CASES}")
    prompt = project.load(prompt_name)
    root = str(project.root or os.getcwd())
    default = project.golden_file(prompt_name) or f"{project.config.paths.evals.strip('/')}/{prompt_name}.yaml"
    file = to if to is not None else os.path.join(root, default)
    if not file.endswith((".yaml", ".yml", ".jsonl")):
        raise UsageError("--to must name a .yaml, .yml or .jsonl golden set", file=file)
    check_outputs({"--to": file})
    text: str | None = None
    golden: GoldenSet | None = None
    if os.path.exists(file):
        if os.path.getsize(file) > MAX_FILE_BYTES:
            raise UsageError(f"file is larger than {MAX_FILE_BYTES:,} bytes", file=file)
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
        golden = parse_golden(text, file, prompt_name)
    ids = {c.id for c in golden.cases} if golden else set()
    seen_vars = {_vars_key(golden.vars_for(c)) for c in golden.cases} if golden else set()

    selection = select_calls(recs, prompt_name, since=since, until=until, where=where, n=n, seed=seed,
                             stratify=False)  # fmt: skip
    result = SampleResult(prompt_name, file, selection.matched, len(selection.calls))
    load_content(recs, selection.calls)
    redact = redactor()
    new: list[dict[str, Any]] = []

    def skip(kind: str, call: LoggedCall, why: str) -> None:
        setattr(result, kind, getattr(result, kind) + 1)
        if len(result.examples) < 5:
            result.examples.append(f"{call.request_id}: {why}")

    for call in selection.calls:
        if call.content_problem is not None:
            skip("no_content", call, call.content_problem)
            continue
        case = case_of(call, keep_output=keep_output, redact=redact)
        key = _vars_key({**(golden.defaults.vars if golden else {}), **case["vars"]})
        if case["id"] in ids or key in seen_vars:
            skip("duplicates", call, "already in the golden set")
            continue
        try:
            prompt.validate(case["vars"])
        except UserError as exc:
            skip("refused", call, f"the prompt refuses its variables ({exc.message[:160]})")
            continue
        ids.add(case["id"])
        seen_vars.add(key)
        new.append(case)
    if not new:
        return result
    new_text = appended_text(text, file, new, prompt_name)
    try:
        check = parse_golden(new_text, file, prompt_name)
    except UserError as exc:
        raise UsageError(f"cannot append safely ({exc.message}); nothing written", file=file) from None
    old_ids = [c.id for c in golden.cases] if golden else []
    if [c.id for c in check.cases] != old_ids + [c["id"] for c in new]:
        raise UsageError("cannot append safely: put the 'cases' list last in the file; nothing written", file=file)
    _write_atomic(file, new_text)
    result.added = [c["id"] for c in new]
    return result


__all__ = ["SampleResult", "appended_text", "case_of", "sample_to_golden"]
