"""Semantic versions and version ranges for prompt releases (no dependency).

Versions are ``MAJOR.MINOR.PATCH`` with an optional ``-prerelease`` and ``+build`` (semver 2.0 order).
A *spec* selects versions:

=================  ==========================================================================
``1.3.0``          exactly that version (``v1.3.0`` and ``=1.3.0`` too)
``1.3`` / ``1``    any ``1.3.x`` / ``1.x.y`` (highest wins)
``^1.3.2``         compatible: ``>=1.3.2,<2.0.0``; for 0.x the minor is the compatibility line:
                   ``^0.2.3`` = ``>=0.2.3,<0.3.0``
``~1.3.2``         patch updates: ``>=1.3.2,<1.4.0`` (``~1`` = ``>=1.0.0,<2.0.0``)
``>=1.2,<2``       comparators (``>``, ``>=``, ``<``, ``<=``, ``=``), comma- or space-separated
``*``              any version
=================  ==========================================================================

Ranges never select a prerelease unless one of their comparators names a prerelease of the same
``MAJOR.MINOR.PATCH`` (npm's rule); an exact spec can name any version. ``latest`` (highest
non-prerelease) and channel names are resolved by the loader, not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, total_ordering

from .errors import UsageError

_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_PARTIAL = re.compile(r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*|[xX*]))?(?:\.(0|[1-9]\d*|[xX*]))?$")
_COMPARATOR = re.compile(r"^(>=|<=|>|<|=)?\s*(\S+)$")
MAX_VERSION_CHARS = 256  # a version or version range as typed (semver identifiers are short)
MAX_VERSION_NUMBER_DIGITS = 18  # MAJOR, MINOR, PATCH and numeric prerelease identifiers
_LONG_NUMBER = re.compile(rf"\d{{{MAX_VERSION_NUMBER_DIGITS + 1}}}")

BUMPS = ("major", "minor", "patch")

# (major, minor, patch, 1 for a release / 0 for a prerelease, prerelease identifiers as (0, n, "") / (1, 0, s))
_SortKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version; ordered by semver precedence (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    def __str__(self) -> str:
        s = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            s += "-" + ".".join(self.prerelease)
        if self.build:
            s += "+" + self.build
        return s

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @cached_property
    def sort_key(self) -> _SortKey:
        """Semver precedence: a prerelease sorts before its release; numeric identifiers sort numerically,
        before alphanumerics. Computed once per instance (cached in its ``__dict__``)."""
        if not self.prerelease:
            return (self.major, self.minor, self.patch, 1, ())
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0, ids)

    def _key(self) -> _SortKey:
        return self.sort_key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def bump(self, kind: str) -> Version:
        """The next version for a ``major``/``minor``/``patch`` bump (prerelease and build dropped)."""
        if kind == "major":
            return Version(self.major + 1, 0, 0)
        if kind == "minor":
            return Version(self.major, self.minor + 1, 0)
        if kind == "patch":
            if self.prerelease:  # 1.2.0-rc.1 -> 1.2.0
                return Version(self.major, self.minor, self.patch)
            return Version(self.major, self.minor, self.patch + 1)
        raise UsageError(f"unknown bump {kind!r} (use major, minor or patch)")


def _too_long(text: str) -> UsageError | None:
    """A version or spec longer than any real one, or with a number of more than 18 digits (``int()`` of
    thousands of digits raises, and costs quadratic time): refused before it is parsed."""
    if len(text) > MAX_VERSION_CHARS:
        return UsageError(f"version {text[:40]!r}… is {len(text):,} characters long (at most {MAX_VERSION_CHARS})")
    if _LONG_NUMBER.search(text.split("+", 1)[0]):
        return UsageError(f"version {text[:40]!r}: numbers of more than {MAX_VERSION_NUMBER_DIGITS} digits")
    return None


def parse_version(text: str) -> Version:
    """``1.3.0`` (or ``v1.3.0``) → :class:`Version`; :class:`UsageError` when not a full semver."""
    problem = _too_long(text)
    if problem:
        raise problem
    parts = text.split(".")
    if len(parts) == 3 and all(p.isdigit() and (p == "0" or p[0] != "0") for p in parts):  # fast path
        return Version(int(parts[0]), int(parts[1]), int(parts[2]))
    m = _VERSION.match(text.strip())
    if not m:
        raise UsageError(f"not a semantic version: {text!r} (expected MAJOR.MINOR.PATCH, e.g. 1.3.0)")
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre, m.group(5) or "")


def try_parse_version(text: str) -> Version | None:
    try:
        return parse_version(text)
    except UsageError:
        return None


def looks_like_spec(text: str) -> bool:
    """Is ``text`` a version or range (as opposed to a channel name or ``latest``)?"""
    t = text.strip()
    return bool(t) and (t[0].isdigit() or t[0] in "^~<>=*" or (t[0] == "v" and t[1:2].isdigit()) or t in ("x", "X"))


@dataclass(frozen=True)
class VersionSpec:
    """A parsed version spec: an exact version or a set of comparators."""

    text: str
    exact: Version | None
    comparators: tuple[tuple[str, Version], ...] = ()

    def matches(self, v: Version) -> bool:
        if self.exact is not None:
            return v == self.exact
        if v.is_prerelease and not any(c.is_prerelease and c.core == v.core for _, c in self.comparators):
            return False
        return all(_OPS[op](v, bound) for op, bound in self.comparators)

    def select(self, versions: Iterable[Version]) -> Version | None:
        """The highest matching version, or None."""
        best = None
        for v in versions:
            if self.matches(v) and (best is None or v > best):
                best = v
        return best


_OPS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


def _partial(text: str, spec: str) -> tuple[int, int | None, int | None]:
    m = _PARTIAL.match(text)
    if not m:
        raise UsageError(f"bad version spec {spec!r}: {text!r} is not a version")
    minor = _number(m.group(2))
    return int(m.group(1)), minor, None if minor is None else _number(m.group(3))


def _number(part: str | None) -> int | None:
    """A version part: None when absent or a wildcard (``x``, ``X``, ``*``)."""
    return None if part is None or part in "xX*" else int(part)


def parse_spec(text: str) -> VersionSpec:
    """Parse a version spec (see the module docstring); :class:`UsageError` when malformed."""
    spec = text.strip()
    if not spec:
        raise UsageError("empty version spec")
    problem = _too_long(spec)
    if problem:
        raise problem
    if spec in ("*", "x", "X"):
        return VersionSpec(spec, None, ())
    exact = try_parse_version(spec.removeprefix("="))
    if exact is not None:
        return VersionSpec(spec, exact)
    if spec[0] in "^~":
        op, body = spec[0], spec[1:].strip()
        full = try_parse_version(body)
        if full is not None:
            lo = full
            major, minor, patch = full.core
        else:
            major, mi, pa = _partial(body, spec)
            minor, patch = mi or 0, pa or 0
            lo = Version(major, minor, patch)
            if op == "^" and mi is None:
                return VersionSpec(spec, None, ((">=", lo), ("<", Version(major + 1, 0, 0))))
            if op == "~" and mi is None:
                return VersionSpec(spec, None, ((">=", lo), ("<", Version(major + 1, 0, 0))))
        if op == "~":
            hi = Version(major, minor + 1, 0)
        elif major > 0:
            hi = Version(major + 1, 0, 0)
        elif minor > 0:
            hi = Version(0, minor + 1, 0)
        else:
            hi = Version(0, 0, patch + 1)
        return VersionSpec(spec, None, ((">=", lo), ("<", hi)))
    parts = [p for p in re.split(r"[,\s]+", spec) if p]
    if len(parts) == 1 and _PARTIAL.match(parts[0]):  # "1.3" -> 1.3.x, "1" -> 1.x
        major, part_minor, _ = _partial(parts[0], spec)
        lo = Version(major, part_minor or 0, 0)
        hi = Version(major + 1, 0, 0) if part_minor is None else Version(major, part_minor + 1, 0)
        return VersionSpec(spec, None, ((">=", lo), ("<", hi)))
    comps: list[tuple[str, Version]] = []
    # Allow ">= 1.2" (operator and version separated by a space).
    merged: list[str] = []
    for p in parts:
        if merged and merged[-1] in _OPS:
            merged[-1] += p
        else:
            merged.append(p)
    for p in merged:
        m = _COMPARATOR.match(p)
        if not m:
            raise UsageError(f"bad version spec {spec!r}")
        op = m.group(1) or "="
        body = m.group(2)
        v = try_parse_version(body)
        if v is None:
            major, part_minor, part_patch = _partial(body, spec)
            v = Version(major, part_minor or 0, part_patch or 0)
        comps.append((op, v))
    return VersionSpec(spec, None, tuple(comps))


def bump_rank(kind: str) -> int:
    """patch < minor < major (for comparing a requested bump with the detected impact)."""
    return {"patch": 0, "minor": 1, "major": 2}[kind]


def impact_to_bump(impact: str, previous: Version) -> str:
    """The bump an impact class calls for: breaking → major, feature → minor, patch → patch.

    Before 1.0.0 the minor is the compatibility line (as ``^0.y`` ranges read it): breaking → minor,
    feature and patch → patch.
    """
    if impact not in ("breaking", "feature", "patch"):
        raise UsageError(f"unknown impact class {impact!r}")
    if previous.major == 0:
        return {"breaking": "minor", "feature": "patch", "patch": "patch"}[impact]
    return {"breaking": "major", "feature": "minor", "patch": "patch"}[impact]
