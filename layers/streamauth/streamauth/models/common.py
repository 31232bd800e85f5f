"""Shapes and parsers shared by every endpoint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from streamauth.errors import BadRequest

Action = Literal["play", "publish"]
ACTIONS: tuple[Action, ...] = ("play", "publish")

# Ant Media stream ids are letters, digits, '_', '-', '.'; Reactive's are UUIDs: both fit.
STREAM_ID = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
MAX_TEXT = 256
MAX_UNIX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
_INT = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True)
class Result:
    """Ant Media's generic reply."""

    success: bool
    message: str | None = None
    data_id: str | None = None
    error_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"success": self.success, "message": self.message, "dataId": self.data_id, "errorId": self.error_id}


MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit` (brackets inside strings do not count),
    checked before parsing: the standard parser recurses, and 10,000 levels exhaust the stack."""
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_object(text: str, field: str = "body") -> dict[str, Any]:
    """A JSON object from text, or BadRequest(field, why): not JSON (NaN and Infinity are not),
    not an object, or nested deeper than MAX_JSON_DEPTH levels."""
    import json

    if _json_depth_exceeds(text, MAX_JSON_DEPTH):
        raise BadRequest(field, f"nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        parsed = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(field, "is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise BadRequest(field, "must be a JSON object")
    return parsed


def parse_stream_id(value: object, field: str = "id") -> str:
    if value is None or value == "":
        raise BadRequest(field, "is required")
    if not isinstance(value, str):
        raise BadRequest(field, "must be a string")
    if not STREAM_ID.fullmatch(value) or value in (".", ".."):
        raise BadRequest(field, "must be 1-128 characters of letters, digits, '_', '-' or '.' (not '.' or '..')")
    return value


def parse_action(value: object, field: str = "type") -> Action:
    if value is None or value == "":
        raise BadRequest(field, "is required")
    if value not in ACTIONS:
        raise BadRequest(field, "must be 'play' or 'publish'")
    return value  # type: ignore[return-value]  # checked against ACTIONS above


def _bounded(number: int, field: str, minimum: int | None, maximum: int | None) -> int:
    if minimum is not None and number < minimum:
        raise BadRequest(field, f"must be at least {minimum}")
    if maximum is not None and number > maximum:
        if maximum == MAX_UNIX_SECONDS and number // 1000 <= maximum:
            raise BadRequest(field, f"must be unix seconds, not milliseconds (at most {maximum})")
        raise BadRequest(field, f"must be at most {maximum}")
    return number


def parse_int(value: object, field: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer from a query or path parameter: a string of digits, as written (" 12" is not
    one: the contract's integer, and Ant Media's, which answers it as a non-number)."""
    if value is None or value == "":
        raise BadRequest(field, "is required")
    if not isinstance(value, str) or not _INT.fullmatch(value):
        raise BadRequest(field, "must be an integer")
    return _bounded(int(value), field, minimum, maximum)


def parse_json_int(value: object, field: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer from a JSON body: a JSON number without a fraction; `"60"` (a string) and
    `true` are refused, as the contract says."""
    if value is None:
        raise BadRequest(field, "is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(field, "must be a JSON number (an integer, not a string)")
    if isinstance(value, float) and not (value.is_integer() and abs(value) < 2**63):
        raise BadRequest(field, "must be an integer")
    return _bounded(int(value), field, minimum, maximum)


def parse_text(value: object, field: str, *, required: bool = False, max_length: int = MAX_TEXT) -> str | None:
    if value is None or value == "":
        if required:
            raise BadRequest(field, "is required")
        return None
    if not isinstance(value, str):
        raise BadRequest(field, "must be a string")
    if len(value) > max_length:
        raise BadRequest(field, f"must be at most {max_length} characters")
    if any(ord(ch) < 32 for ch in value):
        raise BadRequest(field, "must not contain control characters")
    return value


def parse_page(offset: object, size: object, cap: int = 50) -> tuple[int, int]:
    """Ant Media's list paging: integers, a negative offset read as 0 and a negative size as an
    empty page (as Ant Media's DataStore), the size capped (a larger one is not an error)."""
    first = parse_int(offset, "offset", minimum=-(10**9), maximum=10**9)
    count = parse_int(size, "size", minimum=-(10**9), maximum=10**9)
    return max(first, 0), min(max(count, 0), cap)
