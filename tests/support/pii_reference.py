"""Frozen reference for tests/test_safety_detectors_differential.py: the PII pipeline as it was before the
necessary-condition prefilters (one window scan per numeric detector). Do not optimise this file.

The original module docstring follows.

==============  ==========================================================================================
detector        what it finds (and how a candidate is confirmed)
==============  ==========================================================================================
email           ``local@domain.tld`` (local part ≤ 64, labels ≤ 63, TLD 2–24 letters)
phone           ``+`` and 9–15 digits (E.164, separators allowed); North American ``(415) 555-0132`` /
                ``415-555-0132``; national numbers starting with ``0`` in separated groups, 9–12 digits
credit_card     13–19 digits (single spaces or hyphens between them) that pass the Luhn check *and* start
                with a known issuer prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro)
iban            country code, check digits, BBAN (optionally in groups of 4): the country's IBAN length and
                the ISO 7064 mod-97 check (remainder 1)
us_ssn          ``AAA-GG-SSSS`` (hyphens or spaces): area not 000, 666 or 900–999, group not 00, serial not
                0000, and not one of the numbers published as samples (078-05-1120, 219-09-9999)
de_tax_id       German Steuer-ID: 11 digits, first not 0, one digit repeated 2–3 times in the first ten, the
                ISO 7064 mod 11,10 check digit
es_dni          Spanish DNI ``12345678Z`` and NIE ``X1234567L``: the mod-23 control letter
fr_nir          French social security number (NIR, 15 digits incl. Corsica 2A/2B): the 97 − (n mod 97) key
ipv4            dotted quad, each part 0–255, not part of a longer dotted number
ipv6            full or ``::``-compressed IPv6 (checked by :mod:`ipaddress`)
secret          credential shapes: AWS access key ids, GitHub, GitLab, Slack, Stripe, OpenAI/Anthropic-style
                ``sk-`` keys, Google API keys, JWTs, PEM private-key headers
==============  ==========================================================================================

Every pattern is linear: each repetition consumes a character that the next cannot (no nested ambiguous
quantifiers), every count is bounded, and at most :data:`MAX_SCAN_CHARS` characters of a text are scanned.
Where two findings overlap, the one of the detector listed first wins (a card number is not also a phone).
What this misses is stated in README "Safety": names, postal addresses, national ids without a checksum,
numbers written in words, PII split by formatting, secrets without a known shape.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_SCAN_CHARS = 1_000_000  # characters of one text that a scan looks at

__all__ = [
    "DETECTORS",
    "MAX_SCAN_CHARS",
    "PiiFinding",
    "detector_names",
    "find_pii",
    "iban_ok",
    "luhn_ok",
    "redact_pii",
]


@dataclass(frozen=True, slots=True)
class PiiFinding:
    """One detected value: which detector, where (``text[start:end]``) and the value itself."""

    detector: str
    start: int
    end: int
    value: str


# -- checksums ----------------------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


_IBAN_LETTERS = {ord(ch): str(10 + i) for i, ch in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def iban_ok(compact: str) -> bool:
    """ISO 13616: the country's length and the ISO 7064 mod-97 check (``compact``: no spaces, upper case)."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    number = (compact[4:] + compact[:4]).translate(_IBAN_LETTERS)
    return number.isdigit() and int(number) % 97 == 1


def de_tax_id_ok(digits: str) -> bool:
    """German Steuer-ID: 11 digits, first not 0, in the first ten one digit occurs twice or three times and
    no other repeats, and the ISO 7064 mod 11,10 check digit."""
    if len(digits) != 11 or digits[0] == "0":
        return False
    counts = [digits[:10].count(d) for d in set(digits[:10])]
    if sorted(c for c in counts if c > 1) not in ([2], [3]):
        return False
    product = 10
    for ch in digits[:10]:
        total = (int(ch) + product) % 10 or 10
        product = total * 2 % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(digits[10])


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni_ok(number: str, letter: str) -> bool:
    """The DNI/NIE control letter: ``number mod 23`` (NIE: X, Y, Z stand for 0, 1, 2)."""
    prefix = {"X": "0", "Y": "1", "Z": "2"}.get(number[:1].upper())
    if prefix is not None:
        number = prefix + number[1:]
    return _DNI_LETTERS[int(number) % 23] == letter.upper()


def fr_nir_ok(compact: str) -> bool:
    """French NIR: 13 characters (2A/2B for Corsica count as 19/18) and the key ``97 - n mod 97``."""
    body, key = compact[:13].upper(), int(compact[13:15])
    corsica = {"2A": "19", "2B": "18"}.get(body[5:7])
    if corsica is not None:
        body = body[:5] + corsica + body[7:]
    if not body.isdigit():
        return False
    return 97 - int(body) % 97 == key


# -- candidates and their confirmation ----------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9])"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d[\d \-.()]{6,24}\d(?!\w)")
_PHONE_NANP = re.compile(
    r"(?<![\w+\-.])(?:\+?1[ .\-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .\-])[2-9]\d{2}[ .\-]\d{4}(?![\w\-])"
)
_PHONE_NATIONAL = re.compile(r"(?<![\w+\-./])(?<!\d[ \-])0\d{1,4}(?:[ /\-]\d{2,8}){1,4}(?![\w\-/]|[.,]\d)")
_CARD = re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}(?![a-z0-9])")
_SSN = re.compile(r"(?<![\d\-])(\d{3})([ \-])(\d{2})\2(\d{4})(?![\d\-])")
_DE_TAX = re.compile(r"(?<![\d\-])[1-9]\d(?: ?\d{3}){3}(?![\d\-])")
_ES_DNI = re.compile(r"(?<![\w\-])([XYZxyz]\d{7}|\d{8})[ \-]?([A-Za-z])(?![\w])")
_FR_NIR = re.compile(r"(?<![\w])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}(?![\w])")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:)?(?![\w:])")
# No leading look-behind, and every alternative starts with a literal: the regex engine then skips to the
# possible first characters at C speed. The character before a match is checked in _find_secret.
_SECRET = re.compile(
    r"(?:AKIA[0-9A-Z]{16}"
    r"|ASIA[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"
    r"|github_pat_[A-Za-z0-9_]{22,255}"
    r"|glpat-[A-Za-z0-9_\-]{20,64}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,255}"
    r"|sk_(?:live|test)_[A-Za-z0-9]{16,255}"
    r"|rk_(?:live|test)_[A-Za-z0-9]{16,255}"
    r"|sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,255}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|eyJ[A-Za-z0-9_\-]{8,2048}\.eyJ[A-Za-z0-9_\-]{8,4096}\.[A-Za-z0-9_\-]{8,2048}"
    r")(?![A-Za-z0-9_\-])"
)
_PEM = re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_CARD_PREFIXES: tuple[tuple[int, int, int], ...] = (  # (digits of the prefix, low, high)
    (1, 4, 4),  # Visa
    (2, 51, 55),  # Mastercard
    (4, 2221, 2720),  # Mastercard 2-series
    (2, 34, 34),  # Amex
    (2, 37, 37),
    (4, 6011, 6011),  # Discover
    (3, 644, 649),
    (2, 65, 65),
    (4, 3528, 3589),  # JCB
    (3, 300, 305),  # Diners
    (2, 36, 36),
    (2, 38, 39),
    (2, 62, 62),  # UnionPay
    (2, 50, 50),  # Maestro
    (2, 56, 58),
    (2, 67, 67),
)
_SSN_SAMPLES = frozenset({"078051120", "219099999", "123456789"})

_Match = re.Match[str]
_Span = tuple[int, int]
_Find = Callable[[str, int, int], list[_Span]]


_SEPARATORS = str.maketrans("", "", " -./()+")


def _digits(s: str) -> str:
    """The digits of a candidate (whose other characters are separators)."""
    return s.translate(_SEPARATORS)


def _find_regex(regex: re.Pattern[str], ok: Callable[[_Match], bool] | None = None) -> _Find:
    def find(text: str, start: int, end: int) -> list[_Span]:
        return [m.span() for m in regex.finditer(text, start, end) if ok is None or ok(m)]

    return find


def _card_ok(m: _Match) -> bool:
    s = m.group()
    if " " in s and "-" in s:
        return False  # mixed separators: not how a card number is written
    digits = _digits(s)
    if not luhn_ok(digits):
        return False
    return any(lo <= int(digits[:n]) <= hi for n, lo, hi in _CARD_PREFIXES)


def _ssn_ok(m: _Match) -> bool:
    area, group, serial = m.group(1), m.group(3), m.group(4)
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return area + group + serial not in _SSN_SAMPLES


def _phone_intl_ok(m: _Match) -> bool:
    s = m.group()
    n = len(_digits(s))
    return 9 <= n <= 15 and s.count("(") == s.count(")") <= 1 and "  " not in s and ".." not in s


def _phone_national_ok(m: _Match) -> bool:
    return 9 <= len(_digits(m.group())) <= 12


def _find_iban(text: str, start: int, stop: int) -> list[_Span]:
    spans = []
    for m in _IBAN.finditer(text, start, stop):
        s = m.group()
        want = IBAN_LENGTHS.get(s[:2])
        if want is None:
            continue
        # the candidate may run on into the next word: keep exactly the country's length of characters
        end, kept = m.start(), 0
        for i, ch in enumerate(s):
            if ch != " ":
                kept += 1
            if kept == want:
                end = m.start() + i + 1
                break
        at_word_end = end == len(text) or not text[end].isalnum()
        if kept == want and at_word_end and iban_ok(text[m.start() : end].replace(" ", "")):
            spans.append((m.start(), end))
    return spans


def _find_phone(text: str, start: int, end: int) -> list[_Span]:
    window = text[start:end]
    spans = []
    if "+" in window:
        spans += [m.span() for m in _PHONE_INTL.finditer(text, start, end) if _phone_intl_ok(m)]
    spans += [m.span() for m in _PHONE_NANP.finditer(text, start, end)]
    if "0" in window:
        spans += [m.span() for m in _PHONE_NATIONAL.finditer(text, start, end) if _phone_national_ok(m)]
    return spans


def _de_tax_ok(m: _Match) -> bool:
    s = m.group()
    if " " in s and s.count(" ") != 3:
        return False
    return de_tax_id_ok(_digits(s))


def _es_dni_ok(m: _Match) -> bool:
    return es_dni_ok(m.group(1), m.group(2))


def _fr_nir_ok(m: _Match) -> bool:
    return fr_nir_ok(m.group().replace(" ", ""))


def _ipv6_ok(m: _Match) -> bool:
    s = m.group()
    if sum(ch.isalnum() for ch in s) < 2:
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


def _find_ipv6(text: str, start: int, end: int) -> list[_Span]:
    if "::" not in text and text.count(":") < 7:
        return []
    return [m.span() for m in _IPV6.finditer(text, start, end) if _ipv6_ok(m)]


# Secret shapes are long runs of token characters: bytes.translate maps those to 'a' and everything else to
# ' ' at C speed, and only runs of 15 or more are read by the secret regex ('.' is kept for JWTs).
_RUN_CHARS = frozenset(_TOKEN_CHARS | {"."})
_RUN_MASK = bytes(ord("a") if chr(i) in _RUN_CHARS else ord(" ") for i in range(256))
_LONG_RUN = re.compile(rb"a{15,}")


def _find_secret(text: str, start: int, end: int) -> list[_Span]:
    spans = [m.span() for m in _PEM.finditer(text, start, end)] if "-----BEGIN" in text else []
    if text.isascii():
        masked = text.encode("ascii").translate(_RUN_MASK)
        if b"a" * 15 not in masked:
            return spans
        runs = [m.span() for m in _LONG_RUN.finditer(masked, start, end)]
    else:  # positions in bytes differ from positions in the text: split instead
        runs, pos = [], start
        for token in text[start:end].split():
            at = text.find(token, pos, end)
            pos = at + len(token)
            if len(token) >= 15:
                runs.append((at, pos))
    for rs, re_ in runs:
        spans += [
            m.span()
            for m in _SECRET.finditer(text, rs, re_)
            if m.start() == 0 or text[m.start() - 1] not in _TOKEN_CHARS
        ]
    return spans


_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


def _find_email(text: str, start: int, end: int) -> list[_Span]:
    # anchored at each '@': walk back over the local part (≤ 64 characters), then match from there
    spans: list[_Span] = []
    at = text.find("@", start, end)
    while at != -1:
        s, floor = at, max(start, at - 65)
        while s > floor and text[s - 1] in _EMAIL_LOCAL:
            s -= 1
        if at - s <= 64:
            m = _EMAIL.match(text, s, min(end, at + 600))
            if m is not None:
                spans.append(m.span())
        at = text.find("@", at + 1, end)
    return spans


@dataclass(frozen=True)
class Detector:
    """A named detector: ``find(text, start, end)`` returns the spans it confirms in ``text[start:end]``.
    Numeric detectors only run around runs of digits (see :func:`_numeric_windows`)."""

    name: str
    description: str
    find: _Find
    min_digits: int = 0  # > 0: a numeric detector, run only around runs of at least this many digits
    dotted_quad: bool = False  # a numeric detector run around dotted quads
    shape: Callable[[str], bool] | None = None  # a cheap test on the window with digits masked to '#'


# In priority order: where findings overlap, the earlier detector's wins.
DETECTORS: dict[str, Detector] = {
    d.name: d
    for d in (
        Detector("secret", "API keys, tokens and private-key headers of known shapes", _find_secret),
        Detector("email", "e-mail addresses", _find_email),
        Detector("iban", "IBANs with a valid mod-97 checksum", _find_iban, 10),
        Detector(
            "credit_card",
            "payment card numbers (Luhn and issuer prefix)",
            _find_regex(_CARD, _card_ok),
            13,
            shape=lambda w: "####" in w,
        ),
        Detector(
            "us_ssn",
            "US social security numbers (SSA rules)",
            _find_regex(_SSN, _ssn_ok),
            9,
            shape=lambda w: "###-##-####" in w or "### ## ####" in w,
        ),
        Detector(
            "de_tax_id",
            "German tax ids (Steuer-ID, mod 11,10)",
            _find_regex(_DE_TAX, _de_tax_ok),
            11,
            shape=lambda w: "###########" in w or "## ### ### ###" in w,
        ),
        Detector(
            "es_dni",
            "Spanish DNI/NIE (mod-23 letter)",
            _find_regex(_ES_DNI, _es_dni_ok),
            7,
            shape=lambda w: "#######" in w,
        ),
        Detector(
            "fr_nir",
            "French social security numbers (NIR key)",
            _find_regex(_FR_NIR, _fr_nir_ok),
            13,
            shape=lambda w: w.count("#") >= 15,
        ),
        Detector("ipv6", "IPv6 addresses", _find_ipv6),
        Detector("ipv4", "IPv4 addresses", _find_regex(_IPV4), dotted_quad=True),
        Detector("phone", "phone numbers (E.164, North American, national with a leading 0)", _find_phone, 9),
    )
}
_PRIORITY = {name: i for i, name in enumerate(DETECTORS)}

# Every numeric detector's value holds a run of at least 7 digits (single separators allowed: spaces, hyphens,
# dots, slashes, parentheses; A and B count as digits for the Corsican NIR departments 2A/2B) or is a dotted
# quad. Digits are masked to '#' first (str.translate is C speed), so the one scan for such runs starts on a
# literal; the numeric detectors then read only a window around each run (context on both sides for country
# codes, a DNI's letter and the look-arounds), and only around runs with at least their minimum of digits.
_DIGIT_MASK = str.maketrans("0123456789AB", "############")  # A/B: Corsican NIR departments 2A/2B
_NUMERIC_RUN = re.compile(r"#(?:(?:[ \-./()]{0,2}#){6,}|#{0,2}\.#{1,3}\.#{1,3}\.#)")
_BEFORE, _AFTER = 16, 16


@dataclass(frozen=True, slots=True)
class _Window:
    start: int
    end: int
    digits: int
    quad: bool
    masked: str = ""  # text[start:end] with digits (and A, B) masked to '#'


def _numeric_windows(text: str) -> list[_Window]:
    """A window around each run of digits that a numeric detector could confirm (overlapping windows merged;
    a merged window keeps the largest digit count of its runs)."""
    if len(text) < 7:
        return []
    spans: list[list[Any]] = []
    n = len(text)
    masked = text.translate(_DIGIT_MASK)
    for m in _NUMERIC_RUN.finditer(masked):
        run = m.group()
        quad = run.count(".") == 3 and len(run) <= 15
        start, end, digits = max(0, m.start() - _BEFORE), min(n, m.end() + _AFTER), run.count("#")
        if spans and start <= spans[-1][1]:
            last = spans[-1]
            last[1], last[2], last[3] = end, max(last[2], digits), last[3] or quad
        else:
            spans.append([start, end, digits, quad])
    return [_Window(a, b, d, q, masked[a:b]) for a, b, d, q in spans]


def detector_names() -> list[str]:
    """Every detector's name, in priority order."""
    return list(DETECTORS)


def normalize_value(value: str) -> str:
    """The form values and ``allow:`` entries are compared in: lower case, without spaces, ``-``, ``.``,
    ``/``, ``(`` and ``)`` (so ``DE89 3704…`` and ``de8937…`` are the same IBAN)."""
    return value.lower().translate(_STRIP)


_STRIP = str.maketrans("", "", " -./()")


def _allowed(value: str, detector: str, allow: frozenset[str], domains: tuple[str, ...]) -> bool:
    if not allow and not domains:
        return False
    if normalize_value(value) in allow:
        return True
    return detector == "email" and value.lower().endswith(domains) if domains else False


def compile_allow(allow: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """``allow:`` entries as (normalised values, e-mail domains): an entry ``@example.com`` allows every
    address at that domain."""
    values, domains = set(), []
    for entry in allow:
        if entry.startswith("@"):
            domains.append(entry.lower())
        else:
            values.add(normalize_value(entry))
    return frozenset(values), tuple(domains)


def find_pii(text: str, detectors: Sequence[str] | None = None, allow: Iterable[str] = ()) -> list[PiiFinding]:
    """Every PII or secret value in ``text`` (its first :data:`MAX_SCAN_CHARS` characters), in text order.

    ``detectors`` picks detectors by name (default: all); a value equal to an ``allow`` entry (compared
    with :func:`normalize_value`), or an e-mail at an allowed ``@domain``, is left out."""
    if len(text) > MAX_SCAN_CHARS:
        text = text[:MAX_SCAN_CHARS]
    names = list(DETECTORS) if detectors is None else sorted(set(detectors), key=_PRIORITY.__getitem__)
    windows: list[_Window] | None = None
    spans: list[tuple[int, int, int, str]] = []
    for name in names:
        det = DETECTORS[name]
        if det.min_digits or det.dotted_quad:
            if windows is None:
                windows = _numeric_windows(text)
            found = sorted(
                {
                    span
                    for w in windows
                    if ((det.min_digits and w.digits >= det.min_digits) or (det.dotted_quad and w.quad))
                    and (det.shape is None or det.shape(w.masked))
                    for span in det.find(text, w.start, w.end)
                }
            )
        else:
            found = det.find(text, 0, len(text))
        spans += [(_PRIORITY[name], start, end, name) for start, end in found]
    if not spans:
        return []
    allow_values, domains = compile_allow(allow)
    spans.sort()
    taken: list[tuple[int, int]] = []
    out: list[PiiFinding] = []
    for _prio, start, end, name in spans:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        value = text[start:end]
        if not _allowed(value, name, allow_values, domains):
            out.append(PiiFinding(name, start, end, value))
    out.sort(key=lambda f: f.start)
    return out


def redact_pii(text: str, findings: Sequence[PiiFinding]) -> str:
    """``text`` with every finding replaced by ``[REDACTED:<detector>]`` (findings from :func:`find_pii`)."""
    if not findings:
        return text
    parts, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < pos:
            continue
        parts += [text[pos : f.start], f"[REDACTED:{f.detector}]"]
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)
