"""Named PII and secret detectors: a bounded regex finds candidates, a checksum or rule confirms them.

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


# ISO 7064 mod 11,10: the next product from the current one and a digit
_MOD11_10 = [[((d + p) % 10 or 10) * 2 % 11 for d in range(10)] for p in range(11)]


def de_tax_id_ok(digits: str) -> bool:
    """German Steuer-ID: 11 digits, first not 0, in the first ten one digit occurs twice or three times and
    no other repeats, and the ISO 7064 mod 11,10 check digit."""
    if len(digits) != 11 or digits[0] == "0":
        return False
    distinct = set(digits[:10])
    # nine distinct digits: one occurs twice; eight: one three times, or two twice (not allowed)
    if len(distinct) == 8:
        if not any(digits[:10].count(d) == 3 for d in distinct):
            return False
    elif len(distinct) != 9:
        return False
    product = 10
    for ch in digits[:10]:
        product = _MOD11_10[product][ord(ch) - 48]
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


def _iban_span(text: str, m: _Match) -> _Span | None:
    s = m.group()
    want = IBAN_LENGTHS.get(s[:2])
    if want is None:
        return None
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
        return (m.start(), end)
    return None


def _find_iban(text: str, start: int, stop: int) -> list[_Span]:
    return [span for m in _IBAN.finditer(text, start, stop) if (span := _iban_span(text, m)) is not None]


def _anchored(regex: re.Pattern[str], text: str, starts: Iterable[int], stop: int) -> list[_Match]:
    """What ``regex.finditer(text, min(starts), stop)`` yields when no match can start outside ``starts``:
    a match tried at each start, skipping starts inside the previous match."""
    out, last = [], -1
    for p in sorted(starts):
        if p < last:
            continue
        m = regex.match(text, p, stop)
        if m is not None:
            out.append(m)
            last = m.end()
    return out


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
_LONG_RUN = re.compile(rb"aaaaaaaaaaaaaaa+")  # spelled out: the engine then skips to the literal


# Every secret shape holds one of these substrings: without any, the secret regex cannot match.
_SECRET_MARKERS = ("_", "AKIA", "ASIA", "glpat-", "xox", "sk-", "AIza", "eyJ")


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
    # every shape holds a marker inside its run: a text whose runs hold none cannot have a secret
    joined = " ".join([text[rs:re_] for rs, re_ in runs])
    if not any(marker in joined for marker in _SECRET_MARKERS):
        return spans
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
_ALL_NAMES = list(DETECTORS)

# Every numeric detector's value holds a run of at least 7 digits (single separators allowed: spaces, hyphens,
# dots, slashes, parentheses; A and B count as digits for the Corsican NIR departments 2A/2B) or is a dotted
# quad. Digits are masked to '#' first (str.translate is C speed), so the one scan for such runs starts on a
# literal; the numeric detectors then read only a window around each run (context on both sides for country
# codes, a DNI's letter and the look-arounds), and only around runs with at least their minimum of digits.
_DIGIT_MASK = str.maketrans("0123456789AB", "############")  # A/B: Corsican NIR departments 2A/2B
_NUMERIC_RUN = re.compile(r"#(?:(?:[ \-./()]{0,2}#){6,}|#{0,2}\.#{1,3}\.#{1,3}\.#)")
_BEFORE, _AFTER = 16, 16
_DIGIT_MASK_BYTES = bytes(ord("#") if chr(i) in "0123456789AB" else i for i in range(256))
_NUMERIC_RUN_BYTES = re.compile(_NUMERIC_RUN.pattern.encode("ascii"))


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
    last: list[Any] | None = None
    n = len(text)
    if text.isascii():  # the same scan on bytes: cheaper to mask and to search
        bmasked = text.encode("ascii").translate(_DIGIT_MASK_BYTES)
        runs = [(m.start(), m.end()) for m in _NUMERIC_RUN_BYTES.finditer(bmasked)]
        masked = bmasked.decode("ascii")
    else:
        masked = text.translate(_DIGIT_MASK)
        runs = [(m.start(), m.end()) for m in _NUMERIC_RUN.finditer(masked)]
    count = masked.count
    for s, e in runs:
        digits = count("#", s, e)
        quad = e - s <= 15 and count(".", s, e) == 3
        start, end = (s - _BEFORE if s > _BEFORE else 0), (e + _AFTER if e + _AFTER < n else n)
        if last is not None and start <= last[1]:
            last[1] = end
            if digits > last[2]:
                last[2] = digits
            if quad:
                last[3] = True
        else:
            last = [start, end, digits, quad]
            spans.append(last)
    return [_Window(a, b, d, q, masked[a:b]) for a, b, d, q in spans]


# Necessary conditions, one C-speed scan each: every value a numeric detector confirms contains a match of
# one of its patterns below, run over the text's *class mask* (ASCII digits -> '#', A-Z -> 'U', a-z -> 'a',
# '_' and the separators " -./()+:@" kept, anything else -> ','; same positions as the text). Each pattern is
# the detector's own regex with the digit values, the checksums and the trailing look-ahead left out, and
# the leading look-behind moved behind a literal, so the regex engine skips to that literal at C speed. A
# detector then reads only the windows that such a match overlaps (see find_pii for why that is exact); a
# detector without any match is not run at all. Non-ASCII text (where \d and \w also match non-ASCII
# characters) takes the plain window path.
_CLASS_MASK = bytes(
    ord("#") if chr(i).isdigit() and i < 128
    else ord("U") if "A" <= chr(i) <= "Z"
    else ord("a") if "a" <= chr(i) <= "z"
    else i if chr(i) in "_ -./()+:@"
    else ord(",")
    for i in range(256)
)  # fmt: skip
_NEEDS: dict[str, tuple[re.Pattern[bytes], ...]] = {
    "iban": (re.compile(rb"UU(?<![Ua#]UU)##"),),
    "credit_card": (re.compile(rb"#(?<![#\-]#)(?:[ \-]?#){12,18}(?!#)"),),
    "us_ssn": (re.compile(rb"###(?<![#\-]###)(?:-##-| ## )####(?![#\-])"),),
    # look-aheads kept: a value's last digit or letter is at most 3 characters after a digit run, and a
    # window reaches 16 characters past its run, so the character after the value is inside the window too
    "de_tax_id": (re.compile(rb"##(?<![#\-]##)(?: ?###){3}(?![#\-])"),),
    "es_dni": (re.compile(rb"#######[ \-]?[Ua](?![Ua#_])"),),
    "fr_nir": (re.compile(rb"#(?<![Ua#_]#) ?## ?## ?(?:##|#[Ua]) ?### ?### ?##"),),
    "ipv4": (re.compile(rb"\.##?#?\.##?#?\.#"),),
    "phone": (
        re.compile(rb"\+#"),
        re.compile(rb"\(###\) ?###[ .\-]####"),
        re.compile(rb"###[ .\-]###[ .\-]####"),
    ),
}
# Cheaper still (a translate and a substring test): with the separators a value may hold deleted from the
# mask, its digits form one block of at least this length.
_PRECHECKS: dict[str, Callable[[bytes, bytes], bool]] = {  # (the digits' extent of the mask, same without spaces)
    "credit_card": lambda region, _: b"#" * 13 in region.translate(None, b" -"),
    "de_tax_id": lambda _, nospace: b"#" * 11 in nospace,
    # 15 digits, or the Corsican form: 8 digits after the department letter
    "fr_nir": lambda _, nospace: (
        b"#" * 8 in nospace and (b"#" * 15 in nospace or b"#U" + b"#" * 8 in nospace or b"#a" + b"#" * 8 in nospace)
    ),
    "us_ssn": lambda region, _: b"###-##-####" in region or b"### ## ####" in region,
}
# national phone numbers start with a 0, which the class mask does not keep: this one reads the text
_NEED_PHONE_NATIONAL = re.compile(r"0(?<![\w+\-./]0)(?<!\d[ \-]0)\d{1,4}(?:[ /\-]\d{2,8}){1,4}")


def _card_candidate_ok(value: str) -> bool:
    if " " in value and "-" in value:
        return False
    digits = _digits(value)  # ASCII digits here (the prefilters run on ASCII text only)
    total = sum(map(int, digits[-1::-2])) + sum(map(int, digits[-2::-2].translate(_LUHN_DOUBLED)))
    return total % 10 == 0 and any(lo <= int(digits[:n]) <= hi for n, lo, hi in _CARD_PREFIXES)


_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")  # a doubled Luhn digit, its digits summed


def _ssn_candidate_ok(value: str) -> bool:
    m = _SSN.fullmatch(value)
    return m is not None and _ssn_ok(m)


def _de_tax_candidate_ok(value: str) -> bool:
    if value[0] == "0" or (" " in value and value.count(" ") != 3):
        return False
    return de_tax_id_ok(value.replace(" ", ""))


# For these three the necessary pattern has the detector's own structure (digits as '#', both look-arounds:
# the value ends on a digit of a run and a window reaches 16 characters past its run), and two values of
# the detector cannot overlap except where the detector's own scan would also report only the first — so
# the scan reports exactly the detector's candidates. If none passes the detector's check, it finds
# nothing and its windows are not read (no window scan at all when no detector needs one).
_CANDIDATE_OK: dict[str, Callable[[str], bool]] = {
    "credit_card": _card_candidate_ok,
    "us_ssn": _ssn_candidate_ok,
    "de_tax_id": _de_tax_candidate_ok,
}


def _need_spans(
    name: str, text: str, mask: bytes, nospace: bytes, lo: int = 0, hi: int = -1
) -> list[tuple[int, int, int]]:
    """``(start, end, part)`` of the necessary-condition matches of numeric detector ``name`` (empty: it
    cannot fire); ``part`` is the pattern's index (phone: 0 international, 1-2 North American, 3 national)."""
    pre = _PRECHECKS.get(name)
    if pre is not None and not pre(mask[lo:hi] if hi >= 0 else mask[lo:], nospace):
        return []
    # lo:hi, the digits' extent (2 characters before the first for a country code or a '+', 4 after the
    # last for a DNI letter and the look-aheads): no match lies outside it, and look-behinds see before lo
    hi = len(mask) if hi < 0 else hi
    spans = [(*m.span(), i) for i, pattern in enumerate(_NEEDS[name]) for m in pattern.finditer(mask, lo, hi)]
    if name == "phone" and "0" in text:
        spans += [(*m.span(), 3) for m in _NEED_PHONE_NATIONAL.finditer(text, lo, hi)]
    ok = _CANDIDATE_OK.get(name)
    if ok is not None and not any(ok(value) for value in {text[a:b] for a, b, _ in spans}):
        return []
    return spans


def _find_phone_parts(text: str, start: int, end: int, need: list[tuple[int, int, int]]) -> list[_Span]:
    """:func:`_find_phone` with only the sub-patterns whose necessary condition matched in the window; the
    international and national ones tried only where their necessary match starts (their own start)."""
    spans: list[_Span] = []
    intl = [a for a, _, i in need if i == 0 and start <= a < end]
    national = [a for a, _, i in need if i == 3 and start <= a < end]
    if intl:
        spans += [m.span() for m in _anchored(_PHONE_INTL, text, intl, end) if _phone_intl_ok(m)]
    if any((i == 1 or i == 2) and a < end and b > start for a, b, i in need):
        spans += [m.span() for m in _PHONE_NANP.finditer(text, start, end)]
    if national:
        spans += [m.span() for m in _anchored(_PHONE_NATIONAL, text, national, end) if _phone_national_ok(m)]
    return spans


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
    names = _ALL_NAMES if detectors is None else sorted(set(detectors), key=_PRIORITY.__getitem__)
    windows: list[_Window] | None = None
    mask = text.encode("ascii").translate(_CLASS_MASK) if text.isascii() else None
    # every numeric value holds at least 4 digits (a dotted quad) — the run scan needs as many
    few_digits = mask is not None and mask.count(b"#") < 4
    lo = max(0, mask.find(b"#") - 2) if mask is not None else 0
    hi = min(len(text), mask.rfind(b"#") + 5) if mask is not None else len(text)
    nospace: bytes | None = None
    spans: list[tuple[int, int, int, str]] = []
    for name in names:
        det = DETECTORS[name]
        if det.min_digits or det.dotted_quad:
            # Exact: a value the detector confirms in window w lies inside w and holds a match of one of its
            # necessary patterns; finditer reports, for every such match, one that overlaps it (a reported
            # match starting earlier either ends before it — then the scan goes on and reports one starting
            # no later than it — or covers part of it). So w is skipped only if it cannot yield a value.
            if few_digits:
                continue
            if mask is not None and nospace is None:
                nospace = mask[lo:hi].translate(None, b" ")
            need = _need_spans(name, text, mask, nospace, lo, hi) if mask is not None and nospace is not None else None
            if need is not None and not need:
                continue
            if windows is None:
                windows = _numeric_windows(text)
            found_set: set[_Span] = set()
            for w in windows:
                if not ((det.min_digits and w.digits >= det.min_digits) or (det.dotted_quad and w.quad)):
                    continue
                if need is None:
                    if det.shape is None or det.shape(w.masked):
                        found_set.update(det.find(text, w.start, w.end))
                    continue
                if not any(a < w.end and b > w.start for a, b, _ in need):
                    continue
                if det.shape is not None and not det.shape(w.masked):
                    continue
                if name == "phone":
                    found_set.update(_find_phone_parts(text, w.start, w.end, need))
                elif name == "iban":  # every IBAN starts where its necessary match does
                    starts = [a for a, _, _ in need if w.start <= a < w.end]
                    found_set.update(
                        span for m in _anchored(_IBAN, text, starts, w.end) if (span := _iban_span(text, m)) is not None
                    )
                else:
                    found_set.update(det.find(text, w.start, w.end))
            found = sorted(found_set)
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
