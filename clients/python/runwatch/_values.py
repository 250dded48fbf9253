"""What users pass in, made fit for the wire: metric values, params (flattened), tags. Never raises."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Mapping, Optional, Union

from ._protocol import dumps, encode_float

ParamValue = Union[str, int, float, bool, None]


def r(v: Any) -> str:
    """repr() for messages: short, and safe from objects whose __repr__ raises (or ints too long to print)."""
    try:
        text = repr(v)
    except Exception:  # noqa: BLE001
        return f"<{type(v).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def describe_exception(exc_type: Any, exc: Any) -> str:
    name = getattr(exc_type, "__name__", str(exc_type))
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001
        text = ""
    return f"{name}: {text}" if text else name


def describe_failure(exc_type: Any, exc: Any, tb: Any, limit: int) -> str:
    """The exception's line, then its traceback, within `limit` characters (the innermost frames kept)."""
    head = describe_exception(exc_type, exc)
    try:
        import traceback

        text = "".join(traceback.format_exception(exc_type, exc, tb))
    except Exception:  # noqa: BLE001
        return head[:limit]
    room = limit - len(head) - 1
    if room <= 0:
        return head[:limit]
    if len(text) > room:
        text = "...\n" + text[-(room - 4) :]
    return f"{head}\n{text}"


def param_value(v: Any) -> ParamValue:
    """Params are strings, finite numbers, booleans or null on the wire; anything else becomes a string."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if abs(v) < 2**63 else r(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else ("NaN" if v != v else ("Infinity" if v > 0 else "-Infinity"))
    try:
        return dumps(v) if isinstance(v, (list, tuple)) else str(v)
    except Exception:  # noqa: BLE001
        return r(v)


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> Dict[str, ParamValue]:
    """Nested dicts become dotted keys ({"opt": {"lr": 1}} -> {"opt.lr": 1}), as other trackers show them."""
    out: Dict[str, ParamValue] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten_params(v, key + "."))
        else:
            out[key] = param_value(v)
    return out


def normalize_tags(tags: Any) -> Dict[str, str]:
    """Tags are a str->str map; a plain list of names becomes names with empty values."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    if isinstance(tags, str):
        return {tags: ""}
    return {str(t): "" for t in tags}


def make_slow_value(warn: Callable[[str, str], None]) -> Callable[[Any, Any], Optional[str]]:
    """The encoder for values that are not plain floats or ints, as a JSON fragment; None (warned once
    per metric) for anything that is not a number or cannot be encoded."""

    def slow_value(k: Any, v: Any) -> Optional[str]:
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, int):
            # str() refused it (over Python's int -> str digit limit) and no float can hold it.
            warn("value:" + r(k), f"metric {r(k)}: an int too large to encode (over {_digits_limit()} digits); skipped (shown once per metric).")
            return None
        if not isinstance(v, (str, bytes)) and v is not None:
            try:
                f = float(v)  # numpy scalars, 0-d tensors, Decimal, Fraction
                return repr(f) if f - f == 0 else encode_float(f)
            except Exception:  # noqa: BLE001 - a user's __float__ may raise anything
                pass
        warn("value:" + r(k), f"metric {r(k)}: {type(v).__name__} value {r(v)} is not a number; skipped (this warning is shown once per metric).")
        return None

    return slow_value


def _digits_limit() -> str:
    import sys

    get = getattr(sys, "get_int_max_str_digits", None)
    return f"{get():,}" if get is not None else "the allowed"
