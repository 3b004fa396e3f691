"""Names vulture reports as unused that are used in ways it cannot see (tests/test_dead_code.py).

Each entry is a use of the name, with the reason; delete an entry when its code goes (the test says which
entries no longer match anything). Never add dead code here: remove it instead.
"""

from unittest.mock import Mock

_ = Mock()

# llmops_cli/sandbox.py: the bounded filters keep the signature of the Jinja filter they check, so every
# keyword a template may pass is accepted (and then left to Jinja itself)
_.break_long_words  # noqa: B018 - _f_wordwrap: jinja2's wordwrap(s, width, break_long_words, wrapstring, ...)
_.trim_url_limit  # noqa: B018 - _f_urlize: jinja2's urlize(value, trim_url_limit, nofollow, target, rel, ...)
_.nofollow  # noqa: B018 - _f_urlize
_.__self  # noqa: B018 - SandboxedEnvironment.call(__self, __context, __obj, ...): jinja2's positional-only convention

# llmops_cli/serving/options.py: `import opentelemetry.trace` only checks that the otel extra is installed
_.opentelemetry  # noqa: B018
