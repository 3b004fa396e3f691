"""``llmops import promptfoo``: a ``promptfooconfig.yaml`` → llmops prompts, golden sets and model aliases.

Mapped: prompts (inline, ``file://`` text / chat JSON / YAML, globs, ``---``-separated files, labels),
providers (→ ``llmops.yaml`` aliases with litellm ids; generation params), ``tests`` and ``defaultTest``
(inline or ``file://`` YAML/JSON/JSONL/CSV, ``__expected`` columns, ``file://`` vars, array vars expanded),
assertions with the same meaning (see :data:`.asserts.DIRECT`), ``not-`` prefixes, weights, thresholds and metrics,
``assertionTemplates`` ``$ref``s and ``assert-set``s. Everything else is reported with its location.

Parts: :mod:`.parse` (the entry point), :mod:`.providers`, :mod:`.prompts`, :mod:`.cases` (tests and
``defaultTest``), :mod:`.asserts`, and :mod:`.state` (what one import accumulates).
"""

from .parse import parse_promptfoo

__all__ = ["parse_promptfoo"]
