"""promptfoo ``tests`` and ``defaultTest`` → golden cases: inline or ``file://`` YAML/JSON/JSONL/CSV, vars."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from typing import Any

from ...errors import PromptFileError
from ..common import (
    MAX_CASES,
    MAX_EXPANSION,
    DraftCase,
    GapLog,
    load_data_file,
    plain,
    read_bounded,
    slug,
    unique,
)
from ..report import Gap
from .asserts import DIRECT, JUDGED, map_assert
from .state import CODE_EXT, State, safe_id

# -- tests --------------------------------------------------------------------------------------------------


def map_tests(st: State) -> tuple[list[DraftCase], dict[str, Any], list[Gap]]:
    """Cases (for every prompt), the defaults, and gaps that apply to the prompt as a whole."""
    data, log = st.data, st.log
    defaults: dict[str, Any] = {"vars": {}, "assert": [], "judge_vars": set()}
    default_case_asserts: list[tuple[Any, GapLog, tuple[str | int, ...]]] = []
    default_gaps: list[Gap] = []
    prompt_gaps: list[Gap] = []
    dt = data.get("defaultTest")
    dlog = log
    dpath: tuple[str, ...] = ("defaultTest",)
    if isinstance(dt, str):
        dpath_file, text = st.src.read_text(dt, file=log.file, line=log.line(dpath))
        dlog = st.file_log(dpath_file, text)
        dt = load_data_file(dpath_file, text, dlog.file)
        dpath = ()
    if isinstance(dt, dict):
        vars_, vgaps = _vars(st, dt.get("vars", {}), dlog, (*dpath, "vars"))
        if any(isinstance(v, list) for v in vars_.values()):
            vgaps.append(dlog.add("unmapped", (*dpath, "vars"), "array value in defaultTest.vars", "not expanded"))
            vars_ = {k: v for k, v in vars_.items() if not isinstance(v, list)}
        defaults["vars"] = vars_
        default_gaps += vgaps
        opt_gaps = _options(st, dt, dlog, dpath)
        default_gaps += opt_gaps
        raw_asserts = dt.get("assert", [])
        if isinstance(raw_asserts, list):
            for i, a in enumerate(raw_asserts):
                default_case_asserts.append((a, dlog, (*dpath, "assert", i)))
        for extra in sorted(set(dt) - {"vars", "assert", "options", "metadata", "description"}):
            default_gaps.append(dlog.add("unmapped", (*dpath, extra), f"defaultTest.{extra}", "no llmops equivalent"))
    elif dt is not None:
        raise PromptFileError("`defaultTest` must be a mapping", file=log.file, line=log.line(("defaultTest",)))

    if "assert" in data:  # a top-level assert list is not a promptfoo feature; promptfoo ignores it
        prompt_gaps.append(log.add("unmapped", ("assert",), "top-level `assert`", "promptfoo ignores it too"))

    tests = _test_entries(st)
    cases: list[DraftCase] = []
    taken: set[str] = set()
    for n, (test, tlog, tpath) in enumerate(tests):
        cases.extend(_cases_of_test(st, test, tlog, tpath, n, taken, default_case_asserts, defaults))
        if len(cases) > MAX_CASES:
            raise PromptFileError(f"more than {MAX_CASES:,} test cases", file=tlog.file, line=tlog.line(tpath))
    for c in cases:
        c.gaps = default_gaps + c.gaps
    if not cases and default_case_asserts:
        log.add("approximated", ("defaultTest",), "defaultTest without tests", "nothing to evaluate")
    # defaults that are the same for every case stay in `defaults`
    if cases:
        first = cases[0].metadata.get("_defaults", [])
        if all(c.metadata.get("_defaults", []) == first for c in cases):
            defaults["assert"] = first
            for c in cases:
                c.asserts = c.asserts[len(first) :]
    for c in cases:
        c.metadata.pop("_defaults", None)
    return cases, defaults, prompt_gaps


def _options(st: State, test: dict[str, Any], log: GapLog, path: tuple[str | int, ...]) -> list[Gap]:
    gaps: list[Gap] = []
    options = test.get("options")
    if isinstance(options, dict):
        for key in options:
            opath = (*path, "options", key)
            if key == "provider":
                log.add(
                    "approximated",
                    opath,
                    "grader provider for model-graded assertions",
                    "llmops judges with llmops.yaml `judge.model` (set it to the same model)",
                )
            elif key in ("transform", "postprocess"):
                gaps.append(log.add("unmapped", opath, f"output {key}", "assertions see the raw output in llmops"))
            elif key == "transformVars":
                gaps.append(log.add("unmapped", opath, "transformVars", "JavaScript on variables cannot run in llmops"))
            elif key in ("timeout",):
                log.add("approximated", opath, "per-test timeout", "llmops.yaml eval.timeout_s applies to every call")
            else:
                gaps.append(log.add("unmapped", opath, f"test option `{key}`", "no llmops equivalent"))
    for key in ("threshold", "provider", "providers", "providerOutput", "assertScoringFunction", "prompts"):
        if key in test:
            gaps.append(log.add("unmapped", (*path, key), f"test `{key}`", "no llmops equivalent"))
    return gaps


def _test_entries(st: State) -> list[tuple[Any, GapLog, tuple[str | int, ...]]]:
    data, log = st.data, st.log
    raw = data.get("tests")
    if raw is None:
        return []
    refs: list[tuple[Any, tuple[str | int, ...]]]
    if isinstance(raw, str):
        refs = [(raw, ("tests",))]
    elif isinstance(raw, list):
        refs = [(t, ("tests", i)) for i, t in enumerate(raw)]
    else:
        raise PromptFileError("`tests` must be a list or a file reference", file=log.file, line=log.line(("tests",)))
    out: list[tuple[Any, GapLog, tuple[str | int, ...]]] = []
    for item, path in refs:
        if isinstance(item, dict):
            out.append((item, log, path))
            continue
        if not isinstance(item, str):
            log.add("unmapped", path, "test entry", "not a mapping or file reference")
            continue
        ref = item.strip()
        name = ref[7:] if ref.startswith("file://") else ref
        if "://" in name or name.startswith("huggingface:"):
            log.add("unmapped", path, "remote test source", f"{safe_id(name)}: download it and reference the file")
            continue
        if re.sub(r":\w+$", "", name).lower().endswith(CODE_EXT):  # a generator: its export file, if any
            from ..partial import generated_tests

            exported = generated_tests(st, ref, path, log)
            if exported is not None:
                out.extend(_test_file(st, exported, log, log.line(path)))
            continue
        line = log.line(path)
        files = st.src.glob(name, file=log.file, line=line) if any(c in name for c in "*?[") else None
        files = files or [st.src.resolve(name, file=log.file, line=line)]
        for fpath in files:
            out.extend(_test_file(st, fpath, log, line))
        st.mapped("tests file", len(files))
    return out


def _test_file(st: State, fpath: str, log: GapLog, line: int | None) -> list[tuple[Any, GapLog, tuple[str | int, ...]]]:
    text = read_bounded(fpath, file=log.file, line=line, what=st.src.label(fpath))
    lower = fpath.lower()
    if lower.endswith(".csv") or lower.endswith(".tsv"):
        flog = st.file_log(fpath, None)
        return _csv_tests(text, flog, "\t" if lower.endswith(".tsv") else ",")
    if lower.endswith(".jsonl"):
        flog = st.file_log(fpath, None)
        rows: list[tuple[Any, GapLog, tuple[str | int, ...]]] = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                rows.append((json.loads(raw), _LineLog(flog, lineno), ()))
            except RecursionError:
                raise PromptFileError("nested too deeply", file=flog.file, line=lineno) from None
            except ValueError as exc:
                raise PromptFileError(f"invalid JSON line: {exc}", file=flog.file, line=lineno) from None
        return rows
    flog = st.file_log(fpath, text)
    parsed = load_data_file(fpath, text, flog.file)
    if isinstance(parsed, dict):
        return [(parsed, flog, ())]
    if isinstance(parsed, list):
        return [(t, flog, (i,)) for i, t in enumerate(parsed)]
    raise PromptFileError("a tests file must hold a list of tests", file=flog.file, line=1)


class _LineLog(GapLog):
    """A gap log for one line of a JSONL/CSV file."""

    def __init__(self, parent: GapLog, lineno: int) -> None:
        super().__init__(parent.file)
        self.gaps = parent.gaps
        self.lineno = lineno

    def line(self, path: tuple[str | int, ...]) -> int | None:
        return self.lineno

    def add(
        self, kind: Any, path: tuple[str | int, ...], construct: str, detail: str = "", *, line: int | None = None
    ) -> Gap:
        return super().add(kind, path, construct, detail, line=self.lineno)


def _csv_tests(text: str, flog: GapLog, delimiter: str) -> list[tuple[Any, GapLog, tuple[str | int, ...]]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = list(itertools.islice(reader, MAX_CASES + 2))
    except csv.Error as exc:
        raise PromptFileError(f"invalid CSV: {exc}", file=flog.file, line=reader.line_num) from None
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    out: list[tuple[Any, GapLog, tuple[str | int, ...]]] = []
    for n, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        rlog = _LineLog(flog, n)
        test: dict[str, Any] = {"vars": {}, "assert": []}
        for col, cell in zip(header, row, strict=False):
            if re.fullmatch(r"__expected\d*", col):
                if cell.strip():
                    test["assert"].append(_expected_string(cell))
            elif col == "__description":
                test["description"] = cell
            elif col.startswith("__metadata:"):
                test.setdefault("metadata", {})[col.split(":", 1)[1]] = cell
            elif col.startswith("__"):
                rlog.add("unmapped", (col,), f"CSV column `{col}`", "no llmops equivalent")
            else:
                test["vars"][col] = cell
        out.append((test, rlog, ()))
    return out


_EXPECTED_PREFIX = re.compile(r"^(not-)?([a-z][a-z0-9-]*):\s?(.*)$", re.DOTALL)


def _expected_string(cell: str) -> dict[str, Any]:
    """A promptfoo ``__expected`` cell (``contains: x``, ``grade: …``, ``javascript: …`` or a plain value)."""
    m = _EXPECTED_PREFIX.match(cell.strip())
    if m:
        neg, kind, value = m.groups()
        kind = {"grade": "llm-rubric", "fn": "javascript", "eval": "javascript"}.get(kind, kind)
        if kind in ("is-json", "contains-json") and not value.strip():
            return {"type": f"{neg or ''}{kind}"}
        known = set(DIRECT) | JUDGED | {"is-json", "contains-json", "javascript", "python", "similar", "levenshtein"}
        if kind in known:
            if kind in ("contains-any", "contains-all", "icontains-any", "icontains-all"):
                return {"type": f"{neg or ''}{kind}", "value": [v.strip() for v in value.split(",")]}
            return {"type": f"{neg or ''}{kind}", "value": value}
    return {"type": "equals", "value": cell}


def _vars(st: State, raw: Any, log: GapLog, path: tuple[str | int, ...]) -> tuple[dict[str, Any], list[Gap]]:
    gaps: list[Gap] = []
    if isinstance(raw, str):
        fpath, text = st.src.read_text(raw, file=log.file, line=log.line(path))
        raw = load_data_file(fpath, text, st.src.label(fpath))
    if raw is None:
        return {}, gaps
    if not isinstance(raw, dict):
        gaps.append(log.add("unmapped", path, "vars", "not a mapping"))
        return {}, gaps
    out: dict[str, Any] = {}
    for key, value in raw.items():
        vpath = (*path, key)
        key = str(key)
        if isinstance(value, str) and value.startswith("file://"):
            name = value[7:]
            if name.lower().endswith((".js", ".mjs", ".cjs", ".py")) or re.search(r"\.(js|mjs|cjs|ts|py):\w+$", name):
                gaps.append(log.add("unmapped", vpath, "variable computed by code", f"{name}: not imported"))
                continue
            if name.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".mp3", ".wav")):
                gaps.append(
                    log.add("unmapped", vpath, "binary file variable", f"{name}: images/audio are not imported")
                )
                continue
            fpath, text = st.src.read_text(value, file=log.file, line=log.line(vpath))
            loaded = (
                load_data_file(fpath, text, st.src.label(fpath)) if fpath.endswith((".json", ".yaml", ".yml")) else text
            )
            out[key] = plain(loaded)
            st.mapped("file:// variable")
        else:
            out[key] = plain(value)
    return out, gaps


def _cases_of_test(
    st: State,
    test: Any,
    log: GapLog,
    path: tuple[str | int, ...],
    n: int,
    taken: set[str],
    default_asserts: list[tuple[Any, GapLog, tuple[str | int, ...]]],
    defaults: dict[str, Any],
) -> list[DraftCase]:
    if not isinstance(test, dict):
        log.add("unmapped", path, "test", "not a mapping")
        return []
    vars_, gaps = _vars(st, test.get("vars", {}), log, (*path, "vars"))
    gaps += _options(st, test, log, path)
    for extra in sorted(set(test) - {"vars", "assert", "description", "options", "metadata", "threshold", "provider"}):
        if extra not in ("providers", "providerOutput", "assertScoringFunction", "prompts"):
            gaps.append(log.add("unmapped", (*path, extra), f"test field `{extra}`", "no llmops equivalent"))
    # array vars: one test per combination, as promptfoo does
    arrays = {k: v for k, v in vars_.items() if isinstance(v, list)}
    combos: list[dict[str, Any]] = [{}]
    if arrays:
        size = 1
        for v in arrays.values():
            size *= max(len(v), 1)
        if size > MAX_EXPANSION:
            raise PromptFileError(
                f"array vars expand into {size:,} cases (limit {MAX_EXPANSION:,})", file=log.file, line=log.line(path)
            )
        keys = list(arrays)
        combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*(arrays[k] for k in keys))]
        st.mapped("array vars expanded")
    desc = test.get("description") if isinstance(test.get("description"), str) else None
    base_id = slug(desc, f"case-{n + 1:03d}", 80) if desc else f"case-{n + 1:03d}"
    out: list[DraftCase] = []
    for j, combo in enumerate(combos):
        case_vars = {**vars_, **combo}
        cid = unique(base_id if len(combos) == 1 else f"{base_id}-{j + 1}", taken)
        case = DraftCase(id=cid, vars=case_vars, description=desc, gaps=list(gaps))
        meta = test.get("metadata")
        if isinstance(meta, dict):
            case.metadata.update(plain(meta))
        all_vars = {**defaults["vars"], **case_vars}
        judge_vars: set[str] = set()
        default_mapped: list[dict[str, Any]] = []
        for a, alog, apath in default_asserts:
            default_mapped += map_assert(st, a, alog, apath, all_vars, case, judge_vars)
        own = test.get("assert", [])
        if isinstance(own, list):
            for i, a in enumerate(own):
                case.asserts += map_assert(st, a, log, (*path, "assert", i), all_vars, case, judge_vars)
        elif own is not None:
            case.gaps.append(log.add("unmapped", (*path, "assert"), "assert", "not a list"))
        case.asserts = default_mapped + case.asserts
        case.metadata["_defaults"] = default_mapped
        case.metadata["_judge_vars"] = sorted(judge_vars)
        out.append(case)
        st.mapped("test case")
    return out
