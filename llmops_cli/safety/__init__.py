"""Safety checks shared by evals and serving: PII and secret detectors, the refusal phrase model, guards.

* :mod:`.detectors` — named PII/secret detectors with checksums where one exists (Luhn, IBAN mod 97, …);
* :mod:`.refusal` — is an output a refusal? (a documented phrase model, en/de/fr/es);
* :mod:`.config` — validation of the ``pii`` / ``no-pii-leak`` / ``refusal`` assertion fields (lint and evals);
* :mod:`.guards` — input and output guards around ``Prompt.complete()`` (block, redact, flag).

Nothing here imports litellm, evals or the CLI: serving and lint use it as freely as the eval runner.
"""

from __future__ import annotations

from .detectors import DETECTORS, MAX_SCAN_CHARS, PiiFinding, detector_names, find_pii, redact_pii
from .refusal import is_refusal, refusal_match

__all__ = [
    "DETECTORS",
    "MAX_SCAN_CHARS",
    "PiiFinding",
    "detector_names",
    "find_pii",
    "is_refusal",
    "redact_pii",
    "refusal_match",
]
