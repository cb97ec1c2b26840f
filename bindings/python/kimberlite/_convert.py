"""Checks and conversions of Python arguments before they cross into C.

Bad input becomes a TypeError or an InvalidArgument (a ValueError) here, with the argument's
name, so that nothing malformed ever reaches the library.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from .errors import InvalidArgument, InvalidUtf8

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1


def uint(name: str, value: Any, maximum: int = U64_MAX, minimum: int = 0) -> int:
    """An int in [minimum, maximum]; bool and float are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum or value > maximum:
        raise InvalidArgument(f"{name} must be between {minimum} and {maximum}, got {value}")
    return int(value)


def millis(name: str, seconds: Any, *, allow_zero: bool) -> int:
    """A duration in seconds (int or float) as whole milliseconds, rounded up."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}")
    if math.isnan(seconds) or math.isinf(seconds):
        raise InvalidArgument(f"{name} must be a finite number of seconds, got {seconds}")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidArgument(f"{name} must be {bound} seconds, got {seconds}")
    ms = math.ceil(seconds * 1000)
    if ms >= U64_MAX:
        raise InvalidArgument(f"{name} is too large: {seconds} seconds")
    return int(ms)


def c_string(name: str, value: Any, *, allow_empty: bool = True) -> bytes:
    """A str as NUL-terminated-safe UTF-8 bytes."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not allow_empty and not value:
        raise InvalidArgument(f"{name} must not be empty")
    if "\x00" in value:
        raise InvalidUtf8(f"{name} must not contain NUL characters")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidUtf8(f"{name} is not valid UTF-8: {exc.reason} at index {exc.start}") from None


def optional_uint(name: str, value: Optional[Any], maximum: int = U64_MAX) -> Optional[int]:
    return None if value is None else uint(name, value, maximum)
