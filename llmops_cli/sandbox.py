"""The bounded Jinja sandbox prompt templates render in.

On top of Jinja's immutable sandbox, every render is bounded (:mod:`llmops_cli.limits`): ``range()`` length, integer
size for ``*`` and ``**``, string and sequence size of every computed value (repetition, ``~``, ``+``,
padding and format widths, ``replace``/``join``), loop iterations and calls per render (which also
bounds recursive macros), a wall-clock budget per render, and the output size. The checks sit in the
sandbox's call and operator hooks and in a guard the compiler wraps around each loop and ``~``: no
thread or timer per render.

Nothing is evaluated while a template compiles: Jinja folds constant expressions at compile time, outside any
render budget, but never an intercepted operator (``*``, ``**``, ``%``, ``+``) or a filter that takes the render
context, which every filter here does. An unsafe attribute raises wherever it is reached (``x.__class__``,
``map(attribute='__class__')``, ``attr``, ``sort``, ``groupby``…), never an undefined value printed as text.

The budget a render counts against is per thread (:func:`set_budget`); :mod:`llmops_cli.templating` sets it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from string import Formatter
from types import BuiltinMethodType, FunctionType
from typing import Any

import jinja2
from jinja2 import nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from . import limits
from .errors import TemplateError


class RenderLimitError(TemplateError):
    """A template exceeded a bound on work or size (see :mod:`llmops_cli.limits`)."""


# -- bounds ---------------------------------------------------------------------------------------------------
class Budget:
    """What one render may still spend: a wall-clock deadline, loop iterations and calls."""

    __slots__ = ("calls", "deadline", "iterations")

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.iterations = 0
        self.calls = 0


_state = threading.local()


def _limit(message: str) -> RenderLimitError:
    return RenderLimitError(f"template limit: {message}")


def _capped(value: Any) -> Any:
    """``value`` unless it is larger than a template may compute."""
    if isinstance(value, str | list | tuple | dict | bytes):
        if len(value) > limits.MAX_VALUE_LEN:
            raise _limit(f"a computed value has {len(value):,} items (at most {limits.MAX_VALUE_LEN:,})")
    elif isinstance(value, int) and value.bit_length() > limits.MAX_INT_BITS:
        raise _limit(f"a computed number exceeds {limits.MAX_INT_BITS:,} bits")
    return value


def _weight(value: Any, limit: int = limits.MAX_VALUE_LEN) -> int:
    """Items in ``value`` counted through nested lists, tuples and dicts, each reference again (what ``str()``
    or ``tojson`` would write out); stops counting past ``limit``. ``[[1] * 10000] * 10000`` is 10,000 long
    but weighs 100,010,000: printing it takes seconds and gigabytes."""
    if not isinstance(value, list | tuple | dict | set | frozenset):
        return 0
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        total += len(v)
        if total > limit:
            return total
        for item in v.values() if isinstance(v, dict) else v:
            if isinstance(item, list | tuple | dict | set | frozenset) and item:
                stack.append(item)
    return total


def _check_weight(value: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(value, list | tuple | dict | set | frozenset) and _weight(value) > limits.MAX_VALUE_LEN:
        raise _limit(f"a computed value holds more than {limits.MAX_VALUE_LEN:,} items (counting nested ones)")


def _weighed(value: Any) -> Any:
    _check_weight(value)
    return value


def _int_bits(x: Any) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        return 0
    return x.bit_length()


def _size(x: Any) -> int | None:
    return len(x) if isinstance(x, str | list | tuple | bytes) else None


def _check_binop(op: str, left: Any, right: Any) -> None:
    if op == "**":
        if _int_bits(left) and isinstance(right, int) and max(_int_bits(left) - 1, 0) * right > limits.MAX_INT_BITS:
            raise _limit(f"{left if _int_bits(left) < 64 else 'a large number'} ** {right} is too large")
    elif op == "*":
        if _int_bits(left) + _int_bits(right) > limits.MAX_INT_BITS:
            raise _limit("a product exceeds the integer limit")
        for seq, n in ((left, right), (right, left)):
            size = _size(seq)
            if isinstance(seq, list | tuple):
                size = max(size or 0, _weight(seq))
            if size is not None and isinstance(n, int) and size * n > limits.MAX_VALUE_LEN:
                raise _limit(f"repetition would make {size * n:,} items (at most {limits.MAX_VALUE_LEN:,})")
    elif op == "+":
        a, b = _size(left), _size(right)
        if a is not None and b is not None and a + b > limits.MAX_VALUE_LEN:
            raise _limit(f"concatenation would make {a + b:,} items")
    elif op == "%" and isinstance(left, str):
        _check_percent_format(left)
        _check_weight(right)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(fmt: str) -> None:
    for m in _PERCENT_SPEC.finditer(fmt):
        for width in m.groups():
            if width == "*" or (width and int(width) > limits.MAX_FORMAT_WIDTH):
                raise _limit(f"format width {width} is not allowed (at most {limits.MAX_FORMAT_WIDTH:,})")


_WIDTH = re.compile(r"\d+")


def _check_brace_format(fmt: str) -> None:
    try:
        parsed = list(Formatter().parse(fmt))
    except ValueError:
        return  # str.format raises the same error itself
    for _, _, spec, _ in parsed:
        if spec and "{" in spec:
            raise _limit("nested replacement fields in a format spec are not allowed")
        for w in _WIDTH.findall(spec or ""):
            if int(w) > limits.MAX_FORMAT_WIDTH:
                raise _limit(f"format width {w} is not allowed (at most {limits.MAX_FORMAT_WIDTH:,})")


def _check_width(width: Any) -> None:
    if isinstance(width, int) and width > limits.MAX_FORMAT_WIDTH:
        raise _limit(f"width {width:,} is not allowed (at most {limits.MAX_FORMAT_WIDTH:,})")
    if isinstance(width, str) and len(width) > 1000:
        raise _limit("an indentation string longer than 1,000 characters is not allowed")


def _check_replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(s, str) and isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        n = s.count(old) if old else len(s) + 1
        if isinstance(count, int) and count >= 0:
            n = min(n, count)
        if len(s) + n * (len(new) - len(old)) > limits.MAX_VALUE_LEN:
            raise _limit("replace() would make a string longer than the limit")


def _check_join(sep: Any, items: Any) -> None:
    if isinstance(items, list | tuple) and isinstance(sep, str):
        total = len(sep) * max(len(items) - 1, 0)
        total += sum(len(x) for x in items if isinstance(x, str))
        if total > limits.MAX_VALUE_LEN:
            raise _limit("join() would make a string longer than the limit")


def _check_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Pre-checks for str methods that can amplify their input; returns the (possibly materialised) args."""
    owner = getattr(getattr(obj, "__wrapped__", obj), "__self__", None)
    if isinstance(owner, str):  # str.format(...), str.join(...) write their arguments out in full
        for arg in (*args, *kwargs.values()):
            _check_weight(arg)
    kind = type(obj)
    if kind is FunctionType:  # the sandbox's str.format wrapper (or a plain function)
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None and isinstance(getattr(wrapped, "__self__", None), str):
            _check_brace_format(wrapped.__self__)
        return args
    if kind is not BuiltinMethodType:
        return args
    owner = obj.__self__
    if not isinstance(owner, str | bytes):
        return args
    name = obj.__name__
    if name in ("ljust", "rjust", "center", "zfill"):
        _check_width(args[0] if args else kwargs.get("width"))
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tab, int) and len(owner) * tab > limits.MAX_VALUE_LEN:
            raise _limit("expandtabs() would make a string longer than the limit")
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count"))
    elif name == "join" and args:
        items = args[0] if isinstance(args[0], list | tuple) else list(_bounded(args[0]))
        _check_join(owner, items)
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        if len(owner) * longest > limits.MAX_VALUE_LEN:
            raise _limit("translate() would make a string longer than the limit")
    return args


def _tick(budget: Budget | None) -> None:
    if budget is None:
        return
    budget.calls += 1
    if budget.calls > limits.MAX_CALLS:
        raise _limit(f"more than {limits.MAX_CALLS:,} calls in one render (runaway recursion?)")
    if time.monotonic() > budget.deadline:
        raise _limit(f"render took longer than {limits.RENDER_BUDGET_S:g} s")


def _bounded(iterable: Iterable[Any]) -> Iterator[Any]:
    """Iterate, counting against the render's loop budget (checked by the compiled ``for`` loops)."""
    budget: Budget | None = getattr(_state, "budget", None)
    if budget is None:
        yield from iterable
        return
    for item in iterable:
        budget.iterations += 1
        if budget.iterations > limits.MAX_LOOP_ITERATIONS:
            raise _limit(f"more than {limits.MAX_LOOP_ITERATIONS:,} loop iterations in one render")
        if not budget.iterations & 255 and time.monotonic() > budget.deadline:
            raise _limit(f"render took longer than {limits.RENDER_BUDGET_S:g} s")
        yield item


def _safe_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > limits.MAX_RANGE:
        raise _limit(f"range() of {len(rng):,} items (at most {limits.MAX_RANGE:,})")
    return rng


def _unfoldable(orig: Callable[..., Any], check: Callable[..., None] | None) -> Callable[..., Any]:
    """``orig`` as a filter Jinja can never evaluate at compile time, bounded by ``check`` and :func:`_capped`.

    Jinja folds a filter over constants while it compiles or analyses a template (``{{ 'a'|center(9**9) }}``
    would run inside ``from_string``, outside every render budget). A filter that takes the render context
    is never folded, so each filter is wrapped in one that does and passes on what ``orig`` expects.
    """
    kind = getattr(getattr(orig, "jinja_pass_arg", None), "name", None)  # context / eval_context / environment
    first: Callable[[Any], Any] | None = {
        "context": lambda context: context,
        "eval_context": lambda context: context.eval_ctx,
        "environment": lambda context: context.environment,
    }.get(kind or "")

    if first is None and check is None:  # the common case, kept lean: the filter runs per loop item

        def wrapper(context: Any, *args: Any, **kwargs: Any) -> Any:
            return _capped(orig(*args, **kwargs))

    elif first is None and check is not None:
        run_check = check

        def wrapper(context: Any, *args: Any, **kwargs: Any) -> Any:
            run_check(*args, **kwargs)
            return _capped(orig(*args, **kwargs))

    else:
        assert first is not None  # the filters without a pass argument are handled above
        pass_first = first

        def wrapper(context: Any, *args: Any, **kwargs: Any) -> Any:
            if check is not None:
                check(*args, **kwargs)
            return _capped(orig(pass_first(context), *args, **kwargs))

    wrapper.__name__ = getattr(orig, "__name__", "filter")
    wrapper.__qualname__ = getattr(orig, "__qualname__", wrapper.__name__)
    wrapper.__doc__ = orig.__doc__
    return pass_context(wrapper)


def _f_center(value: Any, width: Any = 80) -> None:
    _check_width(width)


def _f_indent(s: Any, width: Any = 4, first: Any = False, blank: Any = False) -> None:
    if isinstance(width, int) and width > 1000:
        raise _limit("indent width above 1,000 is not allowed")
    _check_width(width)


def _f_format(value: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(value, str):
        _check_percent_format(value)


def _f_replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    _check_replace(str(s) if not isinstance(s, str) else s, old, new, count)


def _f_join(value: Any, d: Any = "", attribute: Any = None) -> None:
    _check_weight(value)
    if isinstance(value, list | tuple) and attribute is None:
        _check_join(d, value)


def _f_count(value: Any, n: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(n, int) and n > limits.MAX_RANGE:
        raise _limit(f"{n:,} is too large (at most {limits.MAX_RANGE:,})")


def _f_tojson(value: Any, indent: Any = None) -> None:
    _check_weight(value)
    if (isinstance(indent, int) and indent > 100) or (isinstance(indent, str) and len(indent) > 100):
        raise _limit("tojson indent above 100 is not allowed")


def _f_wordwrap(
    s: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None, *args: Any, **kwargs: Any
) -> None:
    if isinstance(wrapstring, str) and len(wrapstring) > 100:
        raise _limit("wordwrap wrapstring longer than 100 characters is not allowed")
    if not isinstance(width, int) or width < 1:
        raise _limit("wordwrap width must be a positive whole number")


def _f_urlize(value: Any, trim_url_limit: Any = None, nofollow: Any = False, target: Any = None, rel: Any = None,
              *args: Any, **kwargs: Any) -> None:  # fmt: skip
    for text in (target, rel):
        if isinstance(text, str) and len(text) > 100:
            raise _limit("urlize target and rel longer than 100 characters are not allowed")


def _f_sum(iterable: Any, attribute: Any = None, start: Any = 0) -> None:
    if not isinstance(start, int | float) and isinstance(iterable, list | tuple) and len(iterable) > 1000:
        raise _limit("sum() of more than 1,000 sequences is not allowed (each step copies the total)")


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "urlize": _f_urlize,
    "sum": _f_sum,
    "center": _f_center,
    "indent": _f_indent,
    "format": _f_format,
    "replace": _f_replace,
    "join": _f_join,
    "batch": _f_count,
    "slice": _f_count,
    "tojson": _f_tojson,
    "wordwrap": _f_wordwrap,
    "string": _check_weight,
    "pprint": _check_weight,
    "list": _check_weight,
    "unique": _check_weight,
    "sort": _check_weight,
}


class _Guard(NodeTransformer):
    """Wraps every ``for`` iterable in the loop budget and every ``~`` result in the size cap."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_llmops_loop", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [nodes.Filter(n, "_llmops_weigh", [], [], None, None, lineno=node.lineno) for n in node.nodes]
        return nodes.Filter(node, "_llmops_cap", [], [], None, None, lineno=node.lineno)


class StrictUndefined(jinja2.StrictUndefined):
    """Jinja's strict undefined, strict in ``repr()`` too: ``{{ x|map(attribute='missing')|list }}`` prints a
    list, which shows its items with ``repr()``, and came out as ``[Undefined, Undefined]``."""

    __slots__ = ()
    __repr__ = jinja2.StrictUndefined._fail_with_undefined_error


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus the bounds of :mod:`llmops_cli.limits`."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.pop("lipsum", None)  # lipsum(n) generates text without bound; prompts never need it
        self.globals["range"] = _safe_range
        for name, orig in list(self.filters.items()):
            self.filters[name] = _unfoldable(orig, _FILTER_CHECKS.get(name))
        self.filters["_llmops_loop"] = _bounded
        self.filters["_llmops_cap"] = _capped
        self.filters["_llmops_weigh"] = _weighed
        self.finalize = _weighed  # every {{ value }}: str() of a nested structure is written out in full

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """Refuse an unsafe attribute at once. Jinja's sandbox returns an undefined value that fails only when
        printed; inside ``map(attribute='__class__')``, ``sort``, ``groupby`` or ``sum`` it came out as
        ``[Undefined]`` or was silently dropped instead of stopping the render."""
        raise SecurityError(f"access to attribute {str(attribute)[:60]!r} of {type(obj).__name__!r} object is unsafe")

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        return super()._generate(_Guard().visit(source), *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick(getattr(_state, "budget", None))
        _check_binop(operator, left, right)
        return _capped(self.binop_table[operator](left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick(getattr(_state, "budget", None))
        args = _check_method(__obj, args, kwargs)
        return _capped(super().call(__context, __obj, *args, **kwargs))


def set_budget(budget: Budget | None) -> Budget | None:
    """Install the budget this thread's renders count against; returns the one it replaces."""
    previous: Budget | None = getattr(_state, "budget", None)
    _state.budget = budget
    return previous
