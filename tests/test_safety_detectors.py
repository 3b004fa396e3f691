"""PII and secret detectors: positive and negative tables per detector, near misses (checksums that fail),
allow lists, redaction, overlap priority, and hostile inputs (long runs, size bound)."""

from __future__ import annotations

import time

import pytest

from llmops_cli.safety.detectors import (
    DETECTORS,
    MAX_SCAN_CHARS,
    de_tax_id_ok,
    find_pii,
    iban_ok,
    luhn_ok,
    redact_pii,
)

# (detector, text, the value it must find)
POSITIVE = [
    ("email", "write to jane.doe+eu@mail.example.co.uk today", "jane.doe+eu@mail.example.co.uk"),
    ("email", "<a@b.io>", "a@b.io"),
    ("phone", "call +49 30 1234567 now", "+49 30 1234567"),
    ("phone", "or +1 (415) 555-0132.", "+1 (415) 555-0132"),
    ("phone", "US line (415) 555-0132", "(415) 555-0132"),
    ("phone", "US line 415-555-0132.", "415-555-0132"),
    ("phone", "Festnetz 030 12345678.", "030 12345678"),
    ("phone", "portable 06 12 34 56 78", "06 12 34 56 78"),
    ("credit_card", "card 4111 1111 1111 1111 exp", "4111 1111 1111 1111"),
    ("credit_card", "mc 5555-5555-5555-4444", "5555-5555-5555-4444"),
    ("credit_card", "amex 378282246310005", "378282246310005"),
    ("credit_card", "discover 6011111111111117", "6011111111111117"),
    ("iban", "IBAN DE89 3704 0044 0532 0130 00, thanks", "DE89 3704 0044 0532 0130 00"),
    ("iban", "GB82WEST12345698765432", "GB82WEST12345698765432"),
    ("iban", "MT84MALT011000012345MTLCAST001S", "MT84MALT011000012345MTLCAST001S"),
    ("iban", "to NL91ABNA0417164300.", "NL91ABNA0417164300"),
    ("iban", "FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
    ("us_ssn", "SSN 123-45-6780", "123-45-6780"),
    ("us_ssn", "ssn 536 22 1234.", "536 22 1234"),
    ("de_tax_id", "Steuer-ID 86095742719", "86095742719"),
    ("de_tax_id", "IdNr 84 159 263 274", "84 159 263 274"),
    ("es_dni", "DNI 12345678Z", "12345678Z"),
    ("es_dni", "NIE X1234567L", "X1234567L"),
    ("fr_nir", "NIR 1 85 05 78 006 084 91", "1 85 05 78 006 084 91"),
    ("fr_nir", "corse 2 55 08 2A 168 025 97", "2 55 08 2A 168 025 97"),
    ("ipv4", "from 192.168.0.1:8080", "192.168.0.1"),
    ("ipv4", "host 8.8.8.8.", "8.8.8.8"),
    ("ipv6", "addr 2001:db8::1 up", "2001:db8::1"),
    ("ipv6", "fe80:0:0:0:202:b3ff:fe1e:8329", "fe80:0:0:0:202:b3ff:fe1e:8329"),
    ("secret", "key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("secret", "token ghp_" + "a1" * 18, "ghp_" + "a1" * 18),
    ("secret", "OPENAI sk-proj-abcdefghijklmnopqrstuvwxyz12", "sk-proj-abcdefghijklmnopqrstuvwxyz12"),
    ("secret", "stripe sk_live_" + "x9" * 12, "sk_live_" + "x9" * 12),
    ("secret", "slack xoxb-1234567890-abcdef", "xoxb-1234567890-abcdef"),
    ("secret", "google AIza" + "B" * 35, "AIza" + "B" * 35),
    ("secret", "-----BEGIN OPENSSH PRIVATE KEY-----", "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ("secret", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlX2hlcmU", None),
]

# (detector, text): nothing of that detector may be found — near misses first
NEGATIVE = [
    ("credit_card", "card 4111 1111 1111 1112"),  # Luhn fails
    ("credit_card", "5555-5555-5555-4445"),  # Luhn fails
    ("credit_card", "0000 0000 0000 0000"),  # passes Luhn, no issuer starts with 0
    ("credit_card", "4111 1111-1111 1111"),  # mixed separators
    ("credit_card", "order 12345678901234567890123"),  # too long a run
    ("iban", "IBAN DE89 3704 0044 0532 0130 01"),  # wrong checksum
    ("iban", "GB82WEST12345698765433"),  # wrong checksum
    ("iban", "DE89 3704 0044 0532 0130"),  # too short for DE
    ("iban", "XX89370400440532013000"),  # no such country
    ("us_ssn", "000-12-3456"),
    ("us_ssn", "666-12-3456"),
    ("us_ssn", "912-12-3456"),
    ("us_ssn", "123-00-4567"),
    ("us_ssn", "123-45-0000"),
    ("us_ssn", "078-05-1120"),  # the published sample number
    ("us_ssn", "123-45 6789"),  # mixed separators
    ("de_tax_id", "86095742718"),  # wrong check digit
    ("de_tax_id", "12345678901"),  # no repeated digit
    ("de_tax_id", "06095742719"),  # leading zero
    ("es_dni", "12345678A"),  # wrong letter
    ("es_dni", "X1234567A"),
    ("fr_nir", "1 85 05 78 006 084 36"),  # wrong key
    ("ipv4", "version 1.2.3.4.5"),
    ("ipv4", "256.1.1.1"),
    ("ipv4", "1.2.3"),
    ("ipv6", "at 12:30:45 sharp"),
    ("ipv6", "std::vector<int>"),
    ("ipv6", "a::b::c"),
    ("email", "user@localhost"),
    ("email", "@handle and a@b"),
    ("phone", "on 2024-01-15 at 10:30"),
    ("phone", "order 1234567890"),
    ("phone", "in 2024 we sold 1 234 567 units"),
    ("secret", "sk-short"),
    ("secret", "AKIAshort"),
    ("secret", "the skeleton key is under the mat"),
]


@pytest.mark.parametrize(("detector", "text", "value"), POSITIVE)
def test_detector_finds(detector: str, text: str, value: str | None) -> None:
    found = find_pii(text, [detector])
    assert found, f"{detector} found nothing in {text!r}"
    if value is not None:
        assert [f.value for f in found] == [value]
    assert all(f.detector == detector and text[f.start : f.end] == f.value for f in found)


@pytest.mark.parametrize(("detector", "text"), NEGATIVE)
def test_detector_near_misses(detector: str, text: str) -> None:
    assert find_pii(text, [detector]) == []


def test_every_detector_has_positive_and_negative_rows() -> None:
    assert {d for d, *_ in POSITIVE} == set(DETECTORS)
    assert {d for d, _ in NEGATIVE} == set(DETECTORS)


def test_checksum_helpers() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE88370400440532013000")
    assert de_tax_id_ok("86095742719") and not de_tax_id_ok("86095742710")


def test_clean_prose_has_no_findings() -> None:
    prose = (
        "Thanks for reaching out! Your order #48213 shipped on 2024-03-15 and arrives within 5-7 business "
        "days. Version 2.3.1 of the app fixes the login issue; restart it at 10:30 if it hangs. Refunds of "
        "49.99 EUR take 14 days. See section 4.2.1 of the terms, or call us between 9 and 17 h."
    )
    assert find_pii(prose) == []


def test_overlaps_go_to_the_first_detector() -> None:
    # a card number is also a run of digits a phone pattern could claim
    found = find_pii("pay with +4111111111111111 please")
    assert [f.detector for f in find_pii("4111 1111 1111 1111")] == ["credit_card"]
    assert len(found) <= 1


def test_allow_lists() -> None:
    text = "Mail support@acme.com or jane@gmail.com, card 4111 1111 1111 1111"
    assert [f.detector for f in find_pii(text, allow=["@acme.com"])] == ["email", "credit_card"]
    assert [f.value for f in find_pii(text, allow=["@acme.com", "4111-1111-1111-1111"])] == ["jane@gmail.com"]
    assert find_pii(text, ["email"], allow=["JANE@gmail.com", "support@acme.com"]) == []


def test_redaction_replaces_each_value() -> None:
    text = "Mail jane@x.io, IBAN DE89 3704 0044 0532 0130 00."
    assert redact_pii(text, find_pii(text)) == "Mail [REDACTED:email], IBAN [REDACTED:iban]."
    assert redact_pii(text, []) == text


def test_hostile_inputs_stay_fast() -> None:
    """Long runs of the characters the patterns repeat: each scan is linear and bounded."""
    hostile = [
        "1" * 200_000,
        "1 " * 100_000,
        "a" * 100_000 + "@" + "b." * 50_000,
        ("1-" * 50_000) + "x",
        "DE89" + " 1234" * 40_000,
        "eyJ" + "a" * 100_000 + ".eyJ" + "b" * 10,
        ":" * 100_000 + "1",
        "+" + "1 " * 100_000,
        "1.1.1." * 50_000,
    ]
    for text in hostile:
        t0 = time.perf_counter()
        find_pii(text)
        assert time.perf_counter() - t0 < 5.0, text[:20]


def test_scan_is_bounded() -> None:
    text = "x" * MAX_SCAN_CHARS + " jane@x.io"
    assert find_pii(text) == []
    assert find_pii("jane@x.io " + "x" * MAX_SCAN_CHARS)
