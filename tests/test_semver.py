"""Semantic versions, ranges and bump rules (pure functions)."""

from __future__ import annotations

import pytest

from llmops_cli.errors import UsageError
from llmops_cli.versions import (
    impact_to_bump,
    looks_like_spec,
    parse_spec,
    parse_version,
)

V = parse_version


def vs(*texts: str) -> list:
    return [V(t) for t in texts]


def test_parse_and_print() -> None:
    assert str(V("1.2.3")) == "1.2.3"
    assert str(V("v1.2.3-rc.1+build.5")) == "1.2.3-rc.1+build.5"
    for bad in ("1.2", "01.2.3", "1.2.3-", "latest", "1.2.x", ""):
        with pytest.raises(UsageError):
            V(bad)


def test_precedence_follows_semver() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11"]
    ordered += ["1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"]
    assert sorted(vs(*reversed(ordered))) == vs(*ordered)
    assert V("1.0.0+a") == V("1.0.0+b")


def test_bumps() -> None:
    assert str(V("1.2.3").bump("major")) == "2.0.0"
    assert str(V("1.2.3").bump("minor")) == "1.3.0"
    assert str(V("1.2.3").bump("patch")) == "1.2.4"
    assert str(V("1.3.0-rc.1").bump("patch")) == "1.3.0"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1.3.0", "1.3.0"),
        ("v1.3.0", "1.3.0"),
        ("=1.2.0", "1.2.0"),
        ("^1.2", "1.4.2"),
        ("^1.3.1", "1.4.2"),
        ("~1.3.0", "1.3.5"),
        ("~1.3", "1.3.5"),
        ("1.3", "1.3.5"),
        ("1", "1.4.2"),
        ("^0.2.1", "0.2.9"),
        ("^0.0.3", "0.0.3"),
        (">=1.2,<1.4", "1.3.5"),
        (">= 1.2 < 1.4", "1.3.5"),
        (">1.3.5 <2", "1.4.2"),
        ("<=2.0.0", "2.0.0"),
        ("*", "2.0.0"),
        ("^2", "2.0.0"),
    ],
)
def test_ranges_select_highest_match(spec: str, expected: str) -> None:
    have = vs("0.0.3", "0.0.4", "0.2.1", "0.2.9", "0.3.0", "1.2.0", "1.3.0", "1.3.5", "1.4.2", "2.0.0", "2.1.0-rc.1")
    assert str(parse_spec(spec).select(have)) == expected


def test_ranges_skip_prereleases_unless_named() -> None:
    have = vs("1.0.0", "1.1.0-rc.1", "2.0.0-beta.1")
    assert str(parse_spec("^1").select(have)) == "1.0.0"
    assert str(parse_spec(">=1.1.0-rc.0").select(have)) == "1.1.0-rc.1"
    assert str(parse_spec("2.0.0-beta.1").select(have)) == "2.0.0-beta.1"
    assert parse_spec("^3").select(have) is None


def test_bad_specs_are_usage_errors() -> None:
    for bad in ("^", "~x.y", ">=abc", "^1.2.3.4"):
        with pytest.raises(UsageError):
            parse_spec(bad)


def test_spec_or_channel() -> None:
    assert all(looks_like_spec(s) for s in ("1.2.3", "^1", "~1.2", ">=1", "v1.2.3", "*"))
    assert not any(looks_like_spec(s) for s in ("production", "latest", "staging", "very-stable"))


def test_impact_to_bump_and_zero_major() -> None:
    assert impact_to_bump("breaking", V("1.2.3")) == "major"
    assert impact_to_bump("feature", V("1.2.3")) == "minor"
    assert impact_to_bump("patch", V("1.2.3")) == "patch"
    assert impact_to_bump("breaking", V("0.2.3")) == "minor"
    assert impact_to_bump("feature", V("0.2.3")) == "patch"
