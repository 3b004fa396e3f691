"""Input drift: has what callers send a prompt moved? Lengths, scripts/languages and a lexical topic signature.

Per prompt, the inputs of the last ``window_h`` hours (24) are compared with those of the ``reference_h`` hours
(168) before them. An input is the text of the call's logged input variables (``vars``: every string leaf),
else of its logged user messages (``input``) — so only content-logged calls count; at most ``sample`` (2,000)
inputs per window are read (a seeded reservoir sample), each cut to :data:`MAX_INPUT_CHARS`.

Three features, each a statistic ``T(current, reference)``:

* **length**: ``|log(median length now / median length before)|`` (characters);
* **script/language**: total variation distance between the shares of each input's dominant script
  (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Han, Kana, Hangul, other), with Latin text split
  by a stop-word guess into en/de/fr/es/it/pt/nl/other;
* **topic**: the Jensen–Shannon divergence (base 2) between the word distributions (lower-cased words of 3+
  letters, the :data:`TOP_TERMS` most frequent of the reference).

Each is tested against its own sampling noise: ``draws`` (199) pseudo-windows of the current window's size are
drawn from the reference without replacement and ``T`` computed against the rest of the reference; the p-value
is ``(1 + #{T* ≥ T}) / (draws + 1)``. A feature drifts when ``p ≤ alpha`` (0.01) **and** its excess over the
null median reaches a practical floor (length ×1.5, script share 0.10, topic divergence 0.05) — a huge window
must not alarm on a trivial shift. Both windows need ``min_inputs`` (100) inputs. The false-alarm rate on
stationary generated traffic, checked hourly, is measured by ``bench/input_drift_bench.py``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .engine import Records, literal_path
from .engine import naive_utc as _naive

MAX_INPUT_CHARS = 20_000
TOP_TERMS = 500
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STOP = {
    "en": {"the", "and", "you", "for", "are", "with", "this", "that", "have", "not", "what", "how", "can", "your"},
    "de": {"und", "der", "die", "das", "ist", "nicht", "ich", "sie", "mit", "ein", "eine", "wie", "was", "für"},
    "fr": {"les", "des", "est", "pas", "une", "que", "pour", "dans", "vous", "qui", "sur", "avec", "mon", "comment"},
    "es": {"los", "las", "que", "por", "una", "para", "con", "del", "como", "más", "está", "mi", "pero", "qué"},
    "it": {"che", "non", "per", "una", "sono", "della", "con", "come", "gli", "del", "mio", "questo", "anche"},
    "pt": {"que", "não", "uma", "para", "com", "por", "como", "mais", "meu", "isso", "você", "está", "dos"},
    "nl": {"het", "een", "van", "niet", "dat", "ik", "zijn", "met", "voor", "wat", "hoe", "mijn", "ook", "deze"},
}
_SCRIPTS = (
    ("LATIN", "latin"), ("CYRILLIC", "cyrillic"), ("GREEK", "greek"), ("ARABIC", "arabic"), ("HEBREW", "hebrew"),
    ("DEVANAGARI", "devanagari"), ("THAI", "thai"), ("CJK", "han"), ("HIRAGANA", "kana"), ("KATAKANA", "kana"),
    ("HANGUL", "hangul"),
)  # fmt: skip
FLOORS = {"length": math.log(1.5), "script": 0.10, "topic": 0.05}


@dataclass(frozen=True)
class DriftOptions:
    """Windows, sample sizes and thresholds (see the module docstring)."""

    window_h: int = 24
    reference_h: int = 168
    sample: int = 2000
    min_inputs: int = 100
    draws: int = 199
    alpha: float = 0.01
    seed: int = 0


@dataclass
class FeatureDrift:
    feature: str
    statistic: float
    null_median: float
    p_value: float
    drifted: bool
    detail: str


@dataclass
class PromptDrift:
    prompt: str
    current: int
    reference: int
    features: list[FeatureDrift] = field(default_factory=list)

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    def message(self) -> str:
        parts = "; ".join(f"{f.feature}: {f.detail} (p {f.p_value:.3f})" for f in self.drifted)
        return f"inputs moved: {parts} ({self.current} inputs now against {self.reference} before)"


# ---- text and features -------------------------------------------------------------------------------------


def _strings(value: Any, out: list[str], budget: list[int], depth: int = 0) -> None:
    if budget[0] <= 0 or depth > 16:
        return
    if isinstance(value, str):
        out.append(value[: budget[0]])
        budget[0] -= len(value)
    elif isinstance(value, dict):
        for v in list(value.values())[:1000]:
            _strings(v, out, budget, depth + 1)
    elif isinstance(value, list):
        for v in value[:1000]:
            _strings(v, out, budget, depth + 1)


def input_text(variables: Any, messages: Any) -> str | None:
    """The text of one logged input: string leaves of ``vars``, else the user messages of ``input``."""
    out: list[str] = []
    budget = [MAX_INPUT_CHARS]
    if isinstance(variables, dict):
        _strings(variables, out, budget)
    elif isinstance(messages, list):
        _strings([m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"], out, budget)
    else:
        return None
    return " ".join(out)


_ASCII_LETTERS = re.compile(r"[A-Za-z]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_CHAR_SCRIPT: dict[str, str] = {}


def _char_script(ch: str) -> str:
    script = _CHAR_SCRIPT.get(ch)
    if script is None:
        name = unicodedata.name(ch, "")
        script = next((s for prefix, s in _SCRIPTS if name.startswith(prefix)), "other")
        if len(_CHAR_SCRIPT) < 20_000:
            _CHAR_SCRIPT[ch] = script
    return script


def script_of(text: str) -> str:
    """The dominant script of ``text`` (Latin split by a stop-word language guess)."""
    head = text[:2000]
    counts: Counter[str] = Counter(_char_script(ch) for ch in _NON_ASCII.findall(head) if ch.isalpha())
    latin = len(_ASCII_LETTERS.findall(head))
    if latin:
        counts["latin"] += latin
    if not counts:
        return "none"
    script = counts.most_common(1)[0][0]
    if script != "latin":
        return script
    words = set(_WORD.findall(text[:2000].lower())) | set(re.findall(r"\b\w{2}\b", text[:2000].lower()))
    hits = {lang: len(words & stop) for lang, stop in _STOP.items()}
    best = max(hits, key=lambda k: hits[k])
    return f"latin:{best}" if hits[best] >= 2 else "latin:other"


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


# ---- statistics ------------------------------------------------------------------------------------------------


def _np() -> Any:
    import numpy

    return numpy


def _tvd(a: Any, b: Any) -> float:
    np = _np()
    pa, pb = a / max(a.sum(), 1), b / max(b.sum(), 1)
    return float(np.abs(pa - pb).sum() / 2)


def _jsd(a: Any, b: Any) -> float:
    np = _np()
    pa, pb = a / max(a.sum(), 1), b / max(b.sum(), 1)
    m = (pa + pb) / 2

    def kl(p: Any) -> float:
        mask = p > 0
        return float((p[mask] * np.log2(p[mask] / m[mask])).sum())

    return (kl(pa) + kl(pb)) / 2


def _draws(m: int, n: int, opts: DriftOptions, rng: Any) -> Any:
    """``draws`` pseudo-windows of size ``n`` from ``m`` reference rows, as a 0/1 selection matrix."""
    np = _np()
    n = min(n, m // 2) if m - n < opts.min_inputs else n
    sel = np.zeros((opts.draws, m), dtype=np.float32)
    for d in range(opts.draws):
        sel[d, rng.permutation(m)[:n]] = 1
    return sel


def _p_value(observed: float, null: Any, draws: int) -> tuple[float, float]:
    np = _np()
    return float(np.median(null)), (1 + int((null >= observed - 1e-12).sum())) / (draws + 1)


def compare_inputs(prompt: str, now_texts: Sequence[str], ref_texts: Sequence[str], opts: DriftOptions) -> PromptDrift:
    """The three feature tests of one prompt's inputs (see the module)."""
    np = _np()
    res = PromptDrift(prompt, len(now_texts), len(ref_texts))
    if min(len(now_texts), len(ref_texts)) < opts.min_inputs:
        return res
    rng = np.random.default_rng(opts.seed)
    # length: |log median ratio|
    lc = np.log1p(np.array([len(t) for t in now_texts], dtype=float))
    lr = np.log1p(np.array([len(t) for t in ref_texts], dtype=float))

    def length_stat(a: Any, b: Any) -> float:
        return abs(float(np.median(a) - np.median(b)))

    # scripts: one-hot rows → TVD of the column sums
    s_now, s_ref = [script_of(t) for t in now_texts], [script_of(t) for t in ref_texts]
    scripts = sorted({*s_now, *s_ref})
    pos = {s: i for i, s in enumerate(scripts)}
    sc = np.zeros((len(now_texts), len(scripts)))
    sr = np.zeros((len(ref_texts), len(scripts)))
    for rows, labels in ((sc, s_now), (sr, s_ref)):
        for i, label in enumerate(labels):
            rows[i, pos[label]] = 1

    # topic: per-input counts of the reference's most frequent words → JSD of the column sums
    ref_words = [words_of(t) for t in ref_texts]
    vocab = [w for w, _ in Counter(w for ws in ref_words for w in ws).most_common(TOP_TERMS)]
    vpos = {w: i for i, w in enumerate(vocab)}

    def matrix(word_lists: Iterable[list[str]], rows: int) -> Any:
        mat = np.zeros((rows, len(vocab) + 1))
        for i, ws in enumerate(word_lists):
            for w in ws:
                mat[i, vpos.get(w, len(vocab))] += 1  # the last column: words outside the vocabulary
        return mat

    tc = matrix((words_of(t) for t in now_texts), len(now_texts))
    tr = matrix(ref_words, len(ref_texts))
    sel = _draws(len(ref_texts), len(now_texts), opts, rng)
    results: dict[str, tuple[float, float, float]] = {}
    obs_len = length_stat(lc, lr)
    null_len = np.array([length_stat(lr[row > 0], lr[row == 0]) for row in sel])
    results["length"] = (obs_len, *_p_value(obs_len, null_len, opts.draws))
    for name, cur, ref, stat in (("script", sc, sr, _tvd), ("topic", tc, tr, _jsd)):
        total = ref.sum(axis=0)
        subset = sel @ ref.astype(np.float32)
        observed = stat(cur.sum(axis=0), total)
        null = np.array([stat(subset[d], total - subset[d]) for d in range(opts.draws)])
        results[name] = (observed, *_p_value(observed, null, opts.draws))
    for name, (obs, med, p) in results.items():
        excess = obs - med if name != "length" else obs
        drifted = p <= opts.alpha and excess >= FLOORS[name]
        if name == "length":
            detail = f"median length ×{math.exp(float(np.median(lc) - np.median(lr))):.2f}"
        elif name == "script":
            shares_now = sc.sum(axis=0) / len(now_texts)
            shares_ref = sr.sum(axis=0) / len(ref_texts)
            moved = max(range(len(scripts)), key=lambda i: shares_now[i] - shares_ref[i])  # what grew most
            detail = (
                f"{scripts[moved]} {shares_ref[moved]:.0%} → {shares_now[moved]:.0%} of inputs (distance {obs:.2f})"
            )
        else:
            detail = f"word distribution divergence {obs:.3f} (noise {med:.3f})"
        res.features.append(FeatureDrift(name, obs, med, p, drifted, detail))
    return res


# ---- reading the logs ------------------------------------------------------------------------------------------


def _sample_inputs(recs: Records, since: datetime, until: datetime, opts: DriftOptions) -> dict[str, list[str]]:
    """Per prompt, up to ``opts.sample`` input texts of request records in ``[since, until)`` (seeded sample)."""

    files = [literal_path(f) for f in recs.files.jsonl]
    if not files:
        return {}
    cols = "{'ts': 'VARCHAR', 'prompt': 'VARCHAR', 'kind': 'VARCHAR', 'vars': 'JSON', 'input': 'JSON'}"
    sql = f"""SELECT prompt, vars::VARCHAR, input::VARCHAR FROM (
              SELECT prompt, vars, input, row_number() OVER (PARTITION BY prompt ORDER BY hash(ts, prompt, $seed)) AS k
              FROM (SELECT prompt, kind, vars, input, try_cast(ts AS TIMESTAMPTZ) AS t, ts FROM read_json(
                $files, format='newline_delimited', columns={cols}, ignore_errors=true, maximum_object_size=8388608,
                compression='auto'))
              WHERE kind IS NULL AND prompt IS NOT NULL AND (vars IS NOT NULL OR input IS NOT NULL)
                AND t >= $since AND t < $until)
            WHERE k <= $n"""
    params = {"files": files, "since": _naive(since), "until": _naive(until), "n": opts.sample, "seed": opts.seed}
    try:
        rows = recs.con.execute(sql, params).fetchall()
    except Exception as exc:  # duckdb.Error: an unreadable file (the main pass has validated the records)
        from .engine import _as_user_error

        raise _as_user_error(exc) from exc
    out: dict[str, list[str]] = {}
    for prompt, variables, messages in rows:
        try:
            text = input_text(json.loads(variables) if variables else None, json.loads(messages) if messages else None)
        except (ValueError, RecursionError):
            continue
        if text is not None:
            out.setdefault(str(prompt)[:200], []).append(text)
    return out


def input_drift(recs: Records, now: datetime, opts: DriftOptions = DriftOptions()) -> list[PromptDrift]:
    """Every prompt's input drift as of ``now`` (prompts without enough logged inputs are left out)."""
    cut = now - timedelta(hours=opts.window_h)
    start = cut - timedelta(hours=opts.reference_h)
    current = _sample_inputs(recs, cut, now, opts)
    if not current:
        return []
    reference = _sample_inputs(recs, start, cut, opts)
    out = []
    for prompt in sorted(current):
        if prompt in reference:
            out.append(compare_inputs(prompt, current[prompt], reference[prompt], opts))
    return out


__all__ = ["DriftOptions", "FeatureDrift", "PromptDrift", "compare_inputs", "input_drift", "input_text", "script_of"]
