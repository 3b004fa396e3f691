"""Overhead of the deterministic serving guards per call, on a 2 KB output.

    python bench/guard_bench.py            # median µs per call over 2,000 calls × 7 rounds

Measures ``GuardSet.check_output`` — what ``Prompt.complete()`` adds after the reply arrives — for:

* ``pii``: all eleven detectors (redact), on a 2,048-character support answer without PII (the common case),
  the same answer with an e-mail, a phone number and an IBAN in it, and a number-dense text (dates, amounts,
  tracking numbers in every sentence: the numeric detectors' worst ordinary case), once as it repeats its
  vocabulary and once with every date, amount and tracking number different;
* ``pii + refusal + max_size``: the usual output stack;
* ``json_schema``: a 2 KB JSON reply against a small schema.

The figure is the median over rounds of the per-call mean within a round (timeit), in CPU time of this process
(``time.process_time``): on a shared machine the time spent waiting for a core is not the guards' overhead. The issue's target is ≤ 50 µs per call for the deterministic
detectors on a 2 KB output.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmops_cli.safety import guards as g
from llmops_cli.safety.guards import GuardRecord, GuardSet

PROSE = (
    "Thanks for reaching out! I checked your account and the refund for your last order was approved. "
    "It goes back to the original payment method, which usually takes five to seven business days, "
    "depending on your bank. If you paid with a gift card, the balance is restored right away. "
    "You don't need to send the item back: we waive returns for damaged goods. "
    "If anything else comes up, just reply to this message and we'll be happy to help. "
)


def text_2kb(body: str) -> str:
    out = (body * (2048 // len(body) + 1))[:2048]
    return out


def with_pii() -> str:
    t = text_2kb(PROSE)
    insert = " Reach me at jane.doe@example.com or +49 30 1234567; IBAN DE89 3704 0044 0532 0130 00. "
    return (t[:900] + insert + t[900:])[:2048]


def number_dense() -> str:
    rng = random.Random(1)
    sentence = (
        "the order was shipped on 2024-03-15 and your refund of 49.99 EUR will arrive within 5 business days "
        "please contact support if tracking number 1Z999AA10123456784 does not update version 2.3.1 fixes this"
    )
    words = sentence.split(" ")
    return " ".join(rng.choice(words) for _ in range(500))[:2048]


def number_dense_distinct() -> str:
    """Number-dense like :func:`number_dense`, but every date, amount and tracking number is different (no
    value repeats within the text, so no check is shared)."""
    rng = random.Random(2)
    words = [
        "the",
        "order",
        "was",
        "shipped",
        "on",
        "and",
        "your",
        "refund",
        "of",
        "EUR",
        "will",
        "arrive",
        "within",
        "business",
        "days",
        "please",
    ]
    out: list[str] = []
    while sum(len(w) + 1 for w in out) < 2100:
        r = rng.random()
        if r < 0.15:
            out.append(f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        elif r < 0.3:
            out.append(f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}")
        elif r < 0.4:
            out.append(f"1Z{rng.randint(100, 999)}AA{rng.randint(10**10, 10**11 - 1)}")
        else:
            out.append(rng.choice(words))
    return " ".join(out)[:2048]


TIMER = time.process_time  # CPU time of this process: on a shared machine, waiting for a core is not overhead


def median_us(guards: GuardSet, text: str, n: int = 2000, rounds: int = 7) -> float:
    def call() -> None:
        guards.check_output(text, GuardRecord())

    times = timeit.repeat(call, number=n, repeat=rounds, timer=TIMER)
    return statistics.median(t / n * 1e6 for t in times)


def main() -> None:
    pii_all = GuardSet.of([g.pii(stage="output")])
    stack = GuardSet.of(
        [g.pii(stage="output"), g.refusal(), g.max_size(max_chars=20_000, stage="output", action="flag")]
    )
    schema = GuardSet.of(
        [g.json_schema({"type": "object", "required": ["answer"], "properties": {"answer": {"type": "string"}}})]
    )
    doc = json.dumps({"answer": text_2kb(PROSE)[:2000]})
    rows = [
        ("pii (11 detectors), 2 KB answer, no PII", pii_all, text_2kb(PROSE)),
        ("pii (11 detectors), 2 KB answer with e-mail, phone, IBAN", pii_all, with_pii()),
        ("pii (11 detectors), 2 KB number-dense text", pii_all, number_dense()),
        ("pii (11 detectors), 2 KB number-dense, no value repeated", pii_all, number_dense_distinct()),
        ("pii + refusal + max_size, 2 KB answer", stack, text_2kb(PROSE)),
        ("json_schema, 2 KB JSON reply", schema, doc),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU time per call (time.process_time), load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'guard stack and output':60} {'median µs/call':>15}")
    for label, guards, text in rows:
        print(f"{label:60} {median_us(guards, text):15.1f}")


if __name__ == "__main__":
    main()
