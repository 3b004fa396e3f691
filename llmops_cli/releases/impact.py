"""The impact class of a change between two releases: breaking, feature or patch (with reasons).

Uses ``llmops_cli.diff.impact.classify_impact(old, new)`` when the diff module is present and falls back
to :func:`classify_impact` here (same call signature), so the two can be swapped:

* breaking: a required input added, an input removed, an input's type changed or enum narrowed, an
  optional input made required, output format changed, output schema fields removed or retyped;
* feature: an optional input added, an enum widened, output fields added, the model changed;
* patch: template wording, partials, params.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..prompt import Prompt

LEVELS = ("patch", "feature", "breaking")


def _fields(prompt: Prompt) -> dict[str, Any]:
    schema = prompt.spec.output.schema_
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        return {k: (v.get("type") if isinstance(v, dict) else None) for k, v in schema["properties"].items()}
    return {}


def classify_impact(old: Prompt | None, new: Prompt | None) -> tuple[str | None, list[str]]:
    """(impact class or None when nothing behaviour-relevant changed, reasons)."""
    if old is None and new is None:
        return None, []
    if old is None:
        return "feature", ["prompt added"]
    if new is None:
        return "breaking", ["prompt removed"]
    if old.sha256 == new.sha256:
        return None, []
    found: dict[str, list[str]] = {lvl: [] for lvl in LEVELS}
    oi, ni = old.spec.inputs, new.spec.inputs
    for k in oi.keys() - ni.keys():
        found["breaking"].append(f"input '{k}' removed")
    for k in sorted(ni.keys() - oi.keys()):
        lvl = "breaking" if ni[k].is_required else "feature"
        found[lvl].append(f"{'required' if ni[k].is_required else 'optional'} input '{k}' added")
    for k in sorted(oi.keys() & ni.keys()):
        a, b = oi[k], ni[k]
        if a.type != b.type:
            found["breaking"].append(f"input '{k}' type changed {a.type} → {b.type}")
        if b.is_required and not a.is_required:
            found["breaking"].append(f"input '{k}' is now required")
        elif a.is_required and not b.is_required:
            found["feature"].append(f"input '{k}' is now optional")
        if a.enum != b.enum:
            old_e, new_e = a.enum, b.enum
            if new_e is not None and (old_e is None or any(v not in new_e for v in old_e)):
                found["breaking"].append(f"input '{k}' allowed values narrowed")
            else:
                found["feature"].append(f"input '{k}' allowed values widened")
        if a.items != b.items:
            found["breaking"].append(f"input '{k}' item schema changed")
    if old.spec.output.format != new.spec.output.format:
        found["breaking"].append(f"output format changed {old.spec.output.format} → {new.spec.output.format}")
    else:
        of, nf = _fields(old), _fields(new)
        for k in sorted(of.keys() - nf.keys()):
            found["breaking"].append(f"output field '{k}' removed")
        for k in sorted(of.keys() & nf.keys()):
            if of[k] != nf[k]:
                found["breaking"].append(f"output field '{k}' retyped {of[k]} → {nf[k]}")
        for k in sorted(nf.keys() - of.keys()):
            found["feature"].append(f"output field '{k}' added")
        if not (of or nf) and old.spec.output.schema_ != new.spec.output.schema_:
            found["breaking"].append("output schema changed")
    if old.model != new.model:
        found["feature"].append(f"model changed {old.model} → {new.model}")
    if old.params != new.params:
        found["patch"].append("params changed")
    if [(m.role, m.text) for m in old.messages] != [(m.role, m.text) for m in new.messages]:
        found["patch"].append("template wording changed")
    if old.partials != new.partials:
        found["patch"].append("partials changed")
    for lvl in reversed(LEVELS):
        if found[lvl]:
            return lvl, found[lvl] + [r for lower in LEVELS if lower != lvl for r in found[lower]]
    return "patch", ["content changed"]


def detect_impact(old: Prompt | None, new: Prompt | None) -> tuple[str | None, list[str]]:
    """Impact via the diff module's classifier when installed, else :func:`classify_impact`."""
    try:
        from ..diff.impact import classify_impact as diff_classify  # type: ignore[import-not-found]
    except ImportError:
        return classify_impact(old, new)
    if old is not None and new is not None and old.sha256 == new.sha256:
        return None, []
    return _normalize(diff_classify(old, new))


def _normalize(result: Any) -> tuple[str | None, list[str]]:
    """Accept a str, (cls, reasons), a dict or an object with ``impact``/``level``/``kind`` and ``reasons``."""
    if result is None:
        return None, []
    if isinstance(result, str):
        return _word(result), []
    if isinstance(result, tuple) and result:
        return _word(result[0]), [str(r) for r in (result[1] if len(result) > 1 else [])]
    get = result.get if isinstance(result, dict) else lambda k, d=None: getattr(result, k, d)
    cls = next((get(k) for k in ("impact", "level", "kind", "cls", "klass", "value") if get(k) is not None), None)
    reasons = get("reasons", []) or []
    return _word(cls), [str(r) for r in reasons]


def _word(value: Any) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "value", value)).lower().rsplit(".", 1)[-1]
    if text in ("none", "unchanged", "no_change", "nochange"):
        return None
    if text not in LEVELS:
        return "breaking"  # unknown: be conservative
    return text
