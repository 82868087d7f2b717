"""Typed rules for every configuration field (pydantic, strict) and one-line messages that name the field's JSON path.

The specs stay frozen stdlib dataclasses; their fields are annotated with the types built here, and a pydantic
`TypeAdapter` over a dataclass checks a JSON document or an instance (as its dict) before any work starts.
Strict means text is not a number, 2.5 is not a row count, a bool is not an integer, NaN and infinity are never
numbers. The caps are static: data-dependent bounds (a window longer than the longest session) are checked when
the data is known.
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

from twin_core.errors import ConfigError

MAX_LOOKBACK_ROWS = 100_000  # rolling windows, minimum history and purge gaps, in rows
MAX_LAG_DEPTH = 1_000  # each lag is one column per core
MAX_FOLDS = 100
MAX_SEED = 2**32 - 1
MAX_N_JOBS = 256
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 10_000
MAX_ITEMS = 100  # entries of any list in a configuration (feature sets, layers, models, windows, ...)
MAX_CONFIG_BYTES = 1_000_000
MAX_CONFIG_DEPTH = 32  # a run configuration is about 9 levels deep

SPEC_CONFIG = ConfigDict(extra="forbid")  # every spec dataclass: an unknown field is an error with its path

T = TypeVar("T")


def _rule(text: str) -> WrapValidator:
    """Replace pydantic's wording for a scalar field with the field's whole rule, e.g. 'must be ... from 2 to 100'."""

    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("rule", text) from None

    return WrapValidator(wrap)


def whole(low: int, high: int, text: str) -> Any:
    """An integer type (strict: no bool, no 2.0, no text) within low..high, whose error message is `text`."""
    return Annotated[int, Field(strict=True, ge=low, le=high), _rule(text)]


def number(text: str, *, gt: float | None = None, lt: float | None = None, ge: float | None = None,
           le: float | None = None) -> Any:
    """A finite number type (integers accepted, bool and text not) within the bounds given."""
    return Annotated[float, Field(strict=True, allow_inf_nan=False, gt=gt, lt=lt, ge=ge, le=le), _rule(text)]


def text(rule: str, max_chars: int = MAX_NAME_CHARS, *, blank: bool = False) -> Any:
    """A text type of at most `max_chars` characters; non-blank unless `blank` is set."""
    pattern = None if blank else r"\S"
    return Annotated[str, Field(strict=True, max_length=max_chars, pattern=pattern), _rule(rule)]


def flag(rule: str) -> Any:
    """A true/false type: JSON true or false only (not 0/1, not 'yes')."""
    return Annotated[bool, Field(strict=True), _rule(rule)]


def choice(kinds: Any, rule: str) -> Any:
    """One of a Literal's values, with the field's own message."""
    return Annotated[kinds, _rule(rule)]


def entries(of: Any, *, max_items: int = MAX_ITEMS) -> Any:
    """A list (JSON array or tuple) of `of`, at most `max_items` long."""
    return Annotated[tuple[of, ...], Field(max_length=max_items)]


@cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def check(cls: type, value: Any, root: str = "") -> None:
    """Refuse a spec (instance or mapping) whose fields break their typed rules; the message names the path.

    An instance is checked as its JSON form, and then part by part against what that form rebuilds, so a
    config built in code with a dict where a spec belongs is refused too (pydantic would accept the dict).
    """
    if not (is_dataclass(value) and not isinstance(value, type)):
        parse(cls, value, root)
        return
    rebuilt = parse(cls, asdict(value), root)
    path = _misplaced(value, rebuilt, root)
    if path is not None:
        raise ConfigError(f"must be a {type(_at(rebuilt, path, root)).__name__}, got "
                          f"{describe(_at(value, path, root))}", path)


def _misplaced(given: Any, rebuilt: Any, path: str) -> str | None:
    """The path of the first part of `given` that is not a spec (or tuple of specs) where `rebuilt` has one."""
    if is_dataclass(rebuilt):
        if type(given) is not type(rebuilt):
            return path
        pairs = [(getattr(given, f.name), getattr(rebuilt, f.name), join_path(path, f.name)) for f in fields(rebuilt)]
    elif isinstance(rebuilt, tuple) and any(is_dataclass(r) for r in rebuilt):
        if not isinstance(given, tuple):
            return path
        pairs = [(g, r, join_path(path, i)) for i, (g, r) in enumerate(zip(given, rebuilt))]
    else:
        return None
    return next((found for g, r, p in pairs if (found := _misplaced(g, r, p)) is not None), None)


def _at(value: Any, path: str, root: str) -> Any:
    """The part of a spec at a path that `_misplaced` returned."""
    for name, index in re.findall(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path[len(root):]):
        value = value[int(index)] if index else getattr(value, name)
    return value


def parse(cls: type[T], data: Any, root: str = "") -> T:
    """Build `cls` from a JSON-like mapping, or raise ConfigError naming the first bad field's path."""
    check_depth(data, root)
    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as exc:
        raise config_error(exc, root) from None


def config_error(exc: ValidationError, root: str = "") -> ConfigError:
    """pydantic's errors as one ConfigError: the first with its JSON path, then how many more there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    problem = _problem(first)
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ConfigError(problem, join_path(root, *first["loc"]) or "configuration")


def join_path(root: str, *parts: Any) -> str:
    """'stack', 'layers', 1, 'models' → 'stack.layers[1].models' (JSON path; list positions from 0)."""
    path = root
    for part in parts:
        if part == "[key]":  # pydantic's mark of a mapping's key at fault: the path already ends with that key
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", str(part)):
            path += f".{part}" if path else str(part)
        else:
            path += f"[{str(part)[:40]!r}]"
    return path


_WORDING = {
    "missing": "is required but missing",
    "missing_argument": "is required but missing",
    "unexpected_keyword_argument": "is an unknown field; remove it or correct its spelling",
    "extra_forbidden": "is an unknown field; remove it or correct its spelling",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dataclass_type": "must be an object ({...})",
    "dataclass_args_type": "must be an object ({...})",
    "dict_type": "must be an object ({...})",
    "typed_dict_type": "must be an object ({...})",
}


def _problem(error: Mapping) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "too_long":
        said = f"must hold at most {ctx.get('max_length')} entries"
    elif kind == "too_short":
        said = f"must hold at least {ctx.get('min_length')} {'entry' if ctx.get('min_length') == 1 else 'entries'}"
    elif kind == "literal_error":
        said = f"must be one of {ctx.get('expected')}"
    elif kind == "rule":
        said = error["msg"]
    else:
        said = _WORDING.get(kind) or error["msg"][:1].lower() + error["msg"][1:]
    if kind in ("missing", "missing_argument", "unexpected_keyword_argument", "extra_forbidden"):
        return said
    return f"{said}, got {describe(error.get('input'))}"


def describe(value: Any) -> str:
    """A value as a person reads it in JSON terms: 'abc' (text), null, true, NaN, a list of 3 entries."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"{value[:40]!r}{'…' if len(value) > 40 else ''} (text)"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, numbers.Real):
        return repr(value) if type(value) in (int, float) else f"{value} ({type(value).__name__})"
    if isinstance(value, Mapping):
        return f"an object with {len(value)} field(s)"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} entries"
    return f"an object of type {type(value).__name__}"


def check_depth(data: Any, root: str = "", limit: int = MAX_CONFIG_DEPTH) -> None:
    """Refuse lists and objects nested deeper than any configuration is, without recursing (no RecursionError)."""
    stack = [(data, 0, root)]
    while stack:
        value, depth, path = stack.pop()
        if depth > limit:
            raise ConfigError(f"nested more than {limit} levels deep; a run configuration is about 9 levels deep "
                              "(see `python -m twin_core config quick`)", path or "configuration")
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1, join_path(path, k)) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1, join_path(path, i)) for i, v in enumerate(value))


# Field types shared by the specs (features, splits, config); each message is the field's whole rule.
Window = whole(2, MAX_LOOKBACK_ROWS, f"rolling windows must be at least 2 rows and at most {MAX_LOOKBACK_ROWS:,} "
                                     "(whole numbers)")
Windows = entries(Window)
LagDepth = whole(0, MAX_LAG_DEPTH, f"a lag depth is a whole number of rows from 0 (none) to {MAX_LAG_DEPTH:,}")
HistoryRows = whole(0, MAX_LOOKBACK_ROWS, "minimum history cannot be negative: a whole number of rows from 0 to "
                                          f"{MAX_LOOKBACK_ROWS:,}")
GapRows = whole(0, MAX_LOOKBACK_ROWS, "a purge gap cannot be negative: a whole number of rows from 0 to "
                                      f"{MAX_LOOKBACK_ROWS:,}, or null for the longest look-back")
Folds = whole(2, MAX_FOLDS, f"cross-validation needs at least 2 folds and at most {MAX_FOLDS} (a whole number)")
Fraction = number("must be a number strictly between 0 and 1", gt=0, lt=1)
Switch = flag("must be true or false")
Name = text(f"must be non-empty text of at most {MAX_NAME_CHARS} characters")
Description = text(f"must be text of at most {MAX_TEXT_CHARS:,} characters", MAX_TEXT_CHARS, blank=True)
SessionIds = Annotated[tuple[whole(0, 2**31 - 1, "session ids are whole numbers from 0 (`validate` lists them)"),
                             ...], Field(min_length=1, max_length=10_000)]
Seed = whole(0, MAX_SEED, f"must be a whole number from 0 to {MAX_SEED:,}")
