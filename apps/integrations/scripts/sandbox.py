"""A Jinja2 sandbox that bounds work as well as access: what integration scripts run in
(apps.integrations.scripts). ``compile_template`` and ``render`` are its interface; the
limits are the constants below.

Jinja's sandbox stops attribute and call escapes but not work: ``'a' * 10**9``, huge
ranges, nested loops, recursive macros, and ``~``, comparisons and buffers that it does not
intercept. So this environment goes further:

- a whitelist, not a blacklist: the few globals below, the filters and tests in
  ``_FILTERS`` and ``_TESTS``, attributes of plain data (plus ``loop`` and namespaces), and
  calls of macros, those globals and a few ``str``/``dict`` methods (``_METHODS``);
- every operator that can multiply a size checks the size first (``call_binop``, and a
  code generator that routes ``~``, comparisons, dict literals and the buffers of macros
  and blocks through the environment);
- a budget per run (``_Budget``): steps (loop iterations, calls, filters, values walked),
  call depth, characters written, and a deadline checked at each step, inside the render,
  since a thread cannot be killed;
- nothing of a template runs at compile time (no constant folding).

One operation between two checks runs in C without the deadline, which is why each one is
bounded in size beforehand.
"""

from __future__ import annotations

import functools
import json
import operator
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2 import nodes
from jinja2 import tests as jinja_tests
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Template
from jinja2.exceptions import TemplateSyntaxError
from jinja2.nodes import EvalContext
from jinja2.runtime import ChainableUndefined, Context, LoopContext, Macro, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace, pass_context, pass_environment, pass_eval_context

#: Characters of rendered output (the message), counted as the template streams.
MAX_OUTPUT = 64 * 1024
#: Characters of a string an operation makes (``*``, ``+``, ``~``, join, replace, format,
#: tojson, urlencode, printing a list or dict).
MAX_STRING = MAX_OUTPUT
#: Characters written into buffers in all (macros, call blocks, ``{% set %}`` blocks,
#: filter blocks, recursive loops), so that a macro cannot build a huge result.
MAX_WRITTEN = 1024 * 1024
#: Items of a ``range`` or of a list or tuple made by ``+`` or ``*``.
MAX_ITEMS = 10_000
#: Bits of an integer made by ``*``, ``**``, ``+``, ``-`` or the ``int`` filter.
MAX_INT_BITS = 4096
#: Steps of a run: a loop iteration, a call, a filter or test, a value walked (to compare,
#: sort, hash or print it).
MAX_STEPS = 100_000
#: Nested calls: macros, ``caller()``, recursive loops.
MAX_CALL_DEPTH = 20
#: Nesting of a list, tuple or dict that is compared, sorted, hashed or printed.
MAX_NESTING = 100
#: Values plus characters of a list, tuple or dict that is compared, sorted or hashed.
MAX_WEIGHT = 1_000_000
#: Width or precision in a ``format`` spec, and ``round`` precision.
MAX_FORMAT_WIDTH = 100
#: Seconds of a run, checked at each step and output chunk.
MAX_SECONDS = 1.0
#: Nesting of tags (for, if, macro, call, filter, with, set blocks and the output in them):
#: Python refuses some twenty nested loops anyway, and Jinja's compiler is quadratic in it.
MAX_TAG_NESTING = 30


class ScriptError(Exception):
    """The script failed (syntax, a sandbox refusal, a time or size limit); the message is
    short and for the script's author."""


# --- the budget of a run ---------------------------------------------------------------


class _Budget:
    """What one run may still spend (held in ``_RUN`` while the template renders)."""

    __slots__ = ("deadline", "depth", "steps", "written")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + MAX_SECONDS
        self.steps = MAX_STEPS
        self.depth = 0
        self.written = 0

    def tick(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps < 0:
            raise ScriptError(f"the script took more than {MAX_STEPS} steps")
        if time.monotonic() > self.deadline:
            raise ScriptError(f"the script ran longer than {MAX_SECONDS:g} s")

    def write(self, size: int) -> None:
        self.written += size
        if self.written > MAX_WRITTEN:
            raise ScriptError(f"the script wrote more than {MAX_WRITTEN} characters")


_RUN: ContextVar[_Budget | None] = ContextVar("integration_script_budget", default=None)


def _budget() -> _Budget:
    """The run's budget; a fresh one outside a run (nothing of a script runs at compile
    time, but the checks hold wherever these functions are called)."""
    return _RUN.get() or _Budget()


# --- plain data ------------------------------------------------------------------------

_CONTAINERS = (list, tuple, dict)
_LEAVES = (str, int, float, type(None), Undefined)


def _weigh(value: Any, limit: int) -> int:
    """Walk ``value`` (iteratively: data may be deep) before an operation that traverses it
    in C; refuses anything but plain data, too deep, or weighing (values plus characters)
    more than ``limit``. Each value walked is a step."""
    budget = _budget()
    total = walked = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        walked += 1
        if walked % 100 == 0:
            budget.tick(100)
        total += 1
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, _CONTAINERS):
            if depth >= MAX_NESTING:
                raise ScriptError(f"a value is nested more than {MAX_NESTING} levels deep")
            total += len(item)  # counted before they are stacked: bounds the stack too
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif not isinstance(item, _LEAVES):
            raise ScriptError(f"{_kind(item)} is not plain data")
        if total > limit:
            raise ScriptError(f"a value is too big (more than {limit} values and characters)")
    budget.tick(walked % 100)
    return total


def _kind(value: Any) -> str:
    """``a dict``, ``an int``: what a message calls a value."""
    name = type(value).__name__
    return f"an {name}" if name[0].lower() in "aeiou" else f"a {name}"


def _check_size(size: int, limit: int = MAX_STRING) -> None:
    if size > limit:
        raise ScriptError(f"a string would have more than {limit} characters")


def _to_text(value: Any, limit: int = MAX_STRING) -> str:
    """``str(value)`` for plain data only, bounded: what ``{{ }}``, ``~``, format fields and
    the text filters turn values into."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, Undefined)) or value is None:
        return str(value)
    if isinstance(value, _CONTAINERS):
        _weigh(value, limit)
        text = str(value)
        _check_size(len(text), limit)
        return text
    hint = " (add |list or |join)" if isinstance(value, (Iterator, range)) else ""
    raise ScriptError(f"{_kind(value)} can't be turned into text{hint}")


@pass_eval_context  # never called at compile time: no constant folding of outputs
def _finalize(eval_ctx: EvalContext, value: Any) -> str:
    """Each ``{{ }}``: text of plain data, and nothing for ``none``."""
    return "" if value is None else _to_text(value, MAX_OUTPUT)


def _compare(op: str, left: Any, right: Any) -> Any:
    for value in (left, right):
        if isinstance(value, _CONTAINERS):
            _weigh(value, MAX_WEIGHT)
    return _OPERATORS[op](left, right)


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


# --- globals, filters and tests --------------------------------------------------------


def _range(*args: int) -> range:
    numbers = range(*args)
    try:
        too_many = len(numbers) > MAX_ITEMS
    except OverflowError:
        too_many = True
    if too_many:
        raise ScriptError(f"a range may have at most {MAX_ITEMS} items")
    return numbers


def _dict(**items: Any) -> dict[str, Any]:
    return items


def _namespace(**items: Any) -> Namespace:
    return Namespace(**items)


_FUNCTIONS = frozenset({_range, _dict, _namespace})


@pass_context
def _iterate(context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    """Each iteration of a ``{% for %}`` loop (wrapped around every loop at compile time)
    and of a recursive ``loop()`` is a step."""
    budget = _budget()
    for item in iterable:
        budget.tick()
        yield item


_ITERATE = "_script_iterate"


def _value_at(func: Callable[..., Any]) -> int:
    """Where the value is among a filter's arguments (after the environment or context)."""
    return 1 if getattr(func, "jinja_pass_arg", None) is not None else 0


def _step(func: Callable[..., Any], *, deep: bool = False) -> Callable[..., Any]:
    """A filter or test as a script calls it: a step, and for the ones that compare, sort
    or hash (``deep``) the weight of their input first."""
    at = _value_at(func)

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        if deep:
            _weigh(args[at], MAX_WEIGHT)
        return func(*args, **kwargs)

    return guarded


def _textual(func: Callable[..., Any]) -> Callable[..., Any]:
    """A text filter: its value made text by the script's rules first (plain data only)."""
    at = _value_at(func)

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        args = (*args[:at], _to_text(args[at]), *args[at + 1 :])
        return func(*args, **kwargs)

    return guarded


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    """``replace`` (the filter and the method), its size known before it runs."""
    value, old, new = _to_text(value), _to_text(old), _to_text(new)
    hits = value.count(old) if old else len(value) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    _check_size(len(value) + hits * (len(new) - len(old)))
    return value.replace(old, new) if count is None else value.replace(old, new, count)


@pass_environment
def _join(environment: Any, value: Iterable[Any], d: Any = "", attribute: Any = None) -> str:
    if attribute is not None:
        value = map(jinja_filters.make_attrgetter(environment, attribute), value)
    budget, separator, parts, size = _budget(), _to_text(d), [], 0
    for item in value:
        budget.tick()
        text = _to_text(item, max(MAX_STRING - size, 0))
        size += len(text) + (len(separator) if parts else 0)
        _check_size(size)
        parts.append(text)
    return separator.join(parts)


def _tojson(value: Any) -> str:
    """JSON of plain data (a missing value is ``null``); not HTML-escaped: the output is a
    message, and a JSON object output is parsed as one."""
    _weigh(value, MAX_STRING)
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_json_default)
    _check_size(len(text))
    return text


def _json_default(value: Any) -> None:
    if isinstance(value, Undefined):
        return None
    raise TypeError(f"{_kind(value)} is not JSON serializable")


def _urlencode(value: Any) -> str:
    _weigh(value, MAX_STRING)
    text = jinja_filters.do_urlencode(value)
    _check_size(len(text))
    return text


@pass_environment
def _sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if isinstance(start, bool) or not isinstance(start, (int, float)):
        raise ScriptError("sum adds numbers only")
    return jinja_filters.sync_do_sum(environment, iterable, attribute, start)


def _round(value: Any, precision: int = 0, method: str = "common") -> float:
    if not isinstance(precision, int) or abs(precision) > MAX_FORMAT_WIDTH:
        raise ScriptError(f"round takes a precision of at most {MAX_FORMAT_WIDTH}")
    return jinja_filters.do_round(value, precision, method)  # type: ignore[arg-type]


def _int(value: Any, default: int = 0, base: int = 10) -> int:
    number = jinja_filters.do_int(value, default, base)
    _check_int(number)
    return number


def _check_int(number: Any) -> None:
    if isinstance(number, int) and number.bit_length() > MAX_INT_BITS:
        raise ScriptError(f"an integer would have more than {MAX_INT_BITS} bits")


_FILTERS: dict[str, Callable[..., Any]] = {
    # bounded by their input
    **{
        name: _step(jinja_filters.FILTERS[name])
        for name in (  # noqa: SIM905
            "abs count d default first float items last length list map reject rejectattr "
            "reverse select selectattr"
        ).split()
    },
    # they compare, sort or hash their input
    **{
        name: _step(jinja_filters.FILTERS[name], deep=True)
        for name in ("dictsort", "groupby", "max", "min", "sort", "unique")
    },
    # text in
    **{
        name: _textual(jinja_filters.FILTERS[name])
        for name in "capitalize lower striptags title trim truncate upper wordcount".split()  # noqa: SIM905
    },
    # checking the size they make themselves
    "int": _step(_int),
    "join": _step(_join),
    "replace": _step(_replace),
    "round": _step(_round),
    "string": _step(lambda value: _to_text(value)),
    "sum": _step(_sum),
    "tojson": _step(_tojson),
    "urlencode": _step(_urlencode),
    _ITERATE: _iterate,
}


def _comparing(op: str) -> Callable[[Any, Any], Any]:
    return _step(lambda value, other: _compare(op, value, other))


_TESTS: dict[str, Callable[..., Any]] = {
    **{
        name: _step(jinja_tests.TESTS[name])
        for name in (  # noqa: SIM905
            "boolean defined divisibleby even false float integer iterable mapping none "
            "number odd sameas sequence string true undefined"
        ).split()
    },
    "lower": _step(lambda value: _to_text(value).islower()),
    "upper": _step(lambda value: _to_text(value).isupper()),
    **{name: _comparing("eq") for name in ("eq", "==", "equalto")},
    **{name: _comparing("ne") for name in ("ne", "!=")},
    **{name: _comparing("gt") for name in ("gt", ">", "greaterthan")},
    **{name: _comparing("gteq") for name in ("ge", ">=")},
    **{name: _comparing("lt") for name in ("lt", "<", "lessthan")},
    **{name: _comparing("lteq") for name in ("le", "<=")},
    "in": _comparing("in"),
}

#: The methods a script may call, by the exact type of their object.
_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        (  # noqa: SIM905
            "capitalize casefold count endswith find isalnum isalpha isdecimal isdigit islower "
            "isnumeric isspace isupper lower lstrip partition removeprefix removesuffix replace "
            "rfind rpartition rsplit rstrip split splitlines startswith strip title upper"
        ).split()
    ),
    dict: frozenset(("get", "items", "keys", "values")),
}
_LOOP_METHODS = frozenset(("cycle", "changed"))
_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
#: Objects whose (public) attributes a script may read.
_ATTRIBUTE_OWNERS = (str, int, float, list, tuple, dict, LoopContext, Namespace, Undefined)
#: Keywords Jinja's generated code passes along with calls.
_JINJA_KWARGS = frozenset(("_loop_vars", "_block_vars"))


# --- str.format ------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")


class _Formatter(SandboxedFormatter):
    """Fields through the sandbox (attributes as in templates), widths and precisions at
    most MAX_FORMAT_WIDTH, and the text of all fields at most MAX_STRING."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.size = 0

    def format_field(self, value: Any, format_spec: str) -> str:
        if any(len(d) > 3 or int(d) > MAX_FORMAT_WIDTH for d in _DIGITS.findall(format_spec)):
            raise ScriptError(f"format widths and precisions are at most {MAX_FORMAT_WIDTH}")
        if not isinstance(value, (str, int, float)):
            value = _to_text(value)
        text = format(value, format_spec)
        self.size += len(text)
        _check_size(self.size)
        return text

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            _weigh(value, MAX_STRING)
        return super().convert_field(value, conversion)


class _Format:
    """``'…'.format`` and ``'…'.format_map`` of a script (the sandbox's ``wrap_str_format``).
    Not an attribute owner: a script reads nothing of it."""

    __slots__ = ("_env", "_mapping", "_text")

    def __init__(self, env: Any, text: str, mapping: bool) -> None:
        self._env, self._text, self._mapping = env, text, mapping

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        if self._mapping:
            if kwargs or len(args) != 1:
                raise ScriptError("format_map() takes one mapping")
            args, kwargs = (), args[0]
        return _Formatter(self._env).vformat(self._text, args, kwargs)


# --- the environment -------------------------------------------------------------------


class _Buffer(list):
    """The output buffer of a macro or block: what it writes counts against MAX_WRITTEN."""

    __slots__ = ()

    def append(self, text: str) -> None:
        _budget().write(len(text))
        super().append(text)

    def extend(self, texts: Iterable[str]) -> None:
        texts = tuple(texts)
        _budget().write(sum(map(len, texts)))
        super().extend(texts)


class _CodeGenerator(CodeGenerator):
    """Routes what the sandbox does not intercept through the environment: ``~``,
    comparisons, dict literals and the buffers of macros and blocks."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.script_buffer()")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.script_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("environment.script_compare(")
        self.visit(node.expr, frame)
        self.write(", (")
        for operand in node.ops:
            self.write(f"({operand.op!r}, ")
            self.visit(operand.expr, frame)
            self.write("), ")
        self.write("))")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.script_dict((")
        for item in node.items:
            self.write("(")
            self.visit(item.key, frame)
            self.write(", ")
            self.visit(item.value, frame)
            self.write("), ")
        self.write("))")


class _ScriptEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset(("+", "-", "*", "/", "//", "%", "**"))

    def __init__(self) -> None:
        super().__init__(
            undefined=ChainableUndefined,
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.loopcontrols"],
            # no constant folding: nothing of a script runs at compile time, and folding
            # is quadratic in the nesting of expressions (a.b.c… of 200 took seconds)
            optimized=False,
        )
        self.globals = {"range": _range, "dict": _dict, "namespace": _namespace}
        self.filters = dict(_FILTERS)
        self.tests = dict(_TESTS)

    # attributes and items

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return isinstance(obj, _ATTRIBUTE_OWNERS) and super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise ScriptError(f"{attribute!r} of {_kind(obj)} is not available in scripts")

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``a.b``: a dict's keys win over its methods (payloads have ``items``, ``values``)."""
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        if attribute.startswith("_"):
            self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, _CONTAINERS):
            _weigh(argument, MAX_WEIGHT)  # a tuple key is hashed all the way down
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> _Format | None:
        if (
            isinstance(value, types.BuiltinMethodType)
            and value.__name__ in ("format", "format_map")
            and isinstance(value.__self__, str)
        ):
            return _Format(self, value.__self__, value.__name__ == "format_map")
        return None

    # calls

    def is_safe_callable(self, obj: Any) -> bool:
        if isinstance(obj, (Macro, LoopContext, Undefined, _Format)):
            return True
        if isinstance(obj, types.FunctionType):
            return obj in _FUNCTIONS
        if isinstance(obj, types.MethodType):
            return isinstance(obj.__self__, LoopContext) and obj.__name__ in _LOOP_METHODS
        if isinstance(obj, types.BuiltinMethodType):
            return obj.__name__ in _METHODS.get(type(obj.__self__), ())
        return False

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        if not self.is_safe_callable(obj):
            raise ScriptError(f"{_kind(obj)} can't be called in a script")
        if isinstance(obj, (types.BuiltinMethodType, types.MethodType)):
            # data methods hash or compare their arguments; no context to pass
            plain = {k: v for k, v in kwargs.items() if k not in _JINJA_KWARGS}
            for value in (*args, *plain.values()):
                _weigh(value, MAX_WEIGHT)
            if obj.__name__ == "replace":
                return _replace(obj.__self__, *args, **plain)
            result = obj(*args, **plain)
            return list(result) if isinstance(result, _VIEWS) else result
        if isinstance(obj, LoopContext) and args:  # a recursive loop's next level
            args = (_iterate(context, args[0]), *args[1:])
        if budget.depth >= MAX_CALL_DEPTH:
            raise ScriptError(f"calls are nested more than {MAX_CALL_DEPTH} deep")
        budget.depth += 1
        try:
            return context.call(obj, *args, **kwargs)
        finally:
            budget.depth -= 1

    # operators

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise ScriptError("% does not format strings in scripts; use '…'.format(…)")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                    _check_made("repetition", sequence, len(sequence) * times)
            if isinstance(left, int) and isinstance(right, int):
                _check_int_bits(left.bit_length() + right.bit_length())
        elif operator == "+":
            both_text = isinstance(left, str) and isinstance(right, str)
            both_items = isinstance(left, (list, tuple)) and isinstance(right, (list, tuple))
            if both_text or both_items:
                _check_made("sum", left, len(left) + len(right))
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            _check_int_bits(right * abs(left).bit_length() if abs(left) > 1 else 0)
        result = self.binop_table[operator](left, right)
        _check_int(result)
        return result

    # what the code generator routes here

    def script_buffer(self) -> _Buffer:
        return _Buffer()

    def script_concat(self, parts: tuple[Any, ...]) -> str:
        texts, size = [], 0
        for part in parts:
            text = _to_text(part)
            size += len(text)
            _check_size(size)
            texts.append(text)
        return "".join(texts)

    def script_compare(self, left: Any, ops: tuple[tuple[str, Any], ...]) -> Any:
        result: Any = True
        for op, right in ops:
            result = _compare(op, left, right)
            if not result:
                return result
            left = right
        return result

    def script_dict(self, pairs: tuple[tuple[Any, Any], ...]) -> dict[Any, Any]:
        for key, _value in pairs:
            if not (key is None or isinstance(key, (str, int, float))):
                raise ScriptError("dict keys must be strings or numbers")
        return dict(pairs)


def _check_made(what: str, like: str | list[Any] | tuple[Any, ...], size: int) -> None:
    """Before ``*`` or ``+`` of strings, lists or tuples: the size of what it would make."""
    limit, unit = (MAX_STRING, "characters") if isinstance(like, str) else (MAX_ITEMS, "items")
    if size > limit:
        raise ScriptError(f"a {what} would make more than {limit} {unit}")


def _check_int_bits(bits: int) -> None:
    """Before ``*`` or ``**`` of integers: an upper bound of the result's bits, so that no
    huge power is computed (the result itself is then checked exactly)."""
    if bits > 2 * MAX_INT_BITS:
        raise ScriptError(f"an integer would have more than {MAX_INT_BITS} bits")


_ENV = _ScriptEnvironment()

#: Tags a script may not use: there is one template, with no loader and no blocks.
_REFUSED = {
    nodes.Extends: "extends",
    nodes.Block: "block",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from",
}


def compile_template(source: str) -> Template:
    """Parse, refuse the tags of several templates, count each loop's iterations, compile;
    ScriptError (with the line) when it does not."""
    try:
        tree = _ENV.parse(source)
        for refused in tree.find_all(tuple(_REFUSED)):
            tag = _REFUSED[type(refused)]
            raise TemplateSyntaxError(f"{{% {tag} %}} is not available in scripts", refused.lineno)
        if _tag_nesting(tree) > MAX_TAG_NESTING:
            raise TemplateSyntaxError(f"tags are nested more than {MAX_TAG_NESTING} deep", 1)
        for loop in list(tree.find_all(nodes.For)):  # each iteration is a step
            loop.iter = nodes.Filter(loop.iter, _ITERATE, [], [], None, None, lineno=loop.lineno)
        tree.set_environment(_ENV)
        return _ENV.from_string(tree)
    except TemplateSyntaxError as exc:
        raise ScriptError(f"line {exc.lineno}: {exc.message}") from None
    except RecursionError:
        raise ScriptError("the script is nested too deeply") from None
    except Exception as exc:  # Python's own limits on the generated code, memory
        raise ScriptError(f"the script does not compile: {_describe(exc)}") from None


def _tag_nesting(tree: nodes.Node) -> int:
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, nodes.Stmt):
            depth += 1
            deepest = max(deepest, depth)
        stack.extend((child, depth) for child in node.iter_child_nodes())
    return deepest


def render(template: Template, **context: Any) -> str:
    """The template's output within the budget of one run; ScriptError (with the line when
    the failure has one) when it fails or goes over a limit."""
    budget = _Budget()
    token = _RUN.set(budget)
    stream = template.generate(**context)
    parts: list[str] = []
    try:
        size = 0
        for chunk in stream:
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise ScriptError(f"the script wrote more than {MAX_OUTPUT} characters")
            budget.tick(0)
            parts.append(chunk)
    except Exception as exc:
        text = str(exc) if isinstance(exc, ScriptError) else _describe(exc)
        line = _template_line(exc)
        raise ScriptError(f"line {line}: {text}" if line else text) from None
    finally:
        stream.close()
        _RUN.reset(token)
    return "".join(parts)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def _template_line(exc: BaseException) -> int | None:
    """The template's line of the failure: Jinja rewrites tracebacks to template lines."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
