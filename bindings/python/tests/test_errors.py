"""The exception hierarchy: registry, header agreement, Python base classes, pickling."""

from __future__ import annotations

import pickle
import re

import pytest

import kimberlite
from kimberlite import _ffi, errors
from procs import REPO


def header_codes() -> dict:
    text = (REPO / "include" / "kimberlite.h").read_text()
    enum = text[text.index("enum kmb_status_code"):]
    enum = enum[: enum.index("};")]
    return {name: int(value) for name, value in re.findall(r"\b(KMB_(?:ERR_\w+|OK))\s*=\s*(\d+)", enum)}


def test_every_header_status_has_a_class() -> None:
    codes = header_codes()
    assert len(codes) > 30
    for name, value in codes.items():
        if name == "KMB_OK":
            continue
        cls = kimberlite.lookup(name)
        assert cls is not kimberlite.KimberliteError, f"{name} has no exception class"
        assert cls.code == name
        assert cls.__module__ == "kimberlite"
        assert getattr(kimberlite, cls.__name__) is cls
        if value >= 100:
            assert issubclass(cls, kimberlite.ServerError)


def test_library_status_names_match_the_header() -> None:
    lib = _ffi.lib()
    for name, value in header_codes().items():
        assert lib.kmb_status_name(value).decode() == name
    assert lib.kmb_status_name(98).decode() == "KMB_ERR_UNKNOWN"


def test_unknown_codes_fall_back_by_range() -> None:
    assert errors._class_for_status("KMB_ERR_SOMETHING_NEW", 150) is kimberlite.ServerError
    assert errors._class_for_status("KMB_ERR_SOMETHING_NEW", 50) is kimberlite.KimberliteError
    assert kimberlite.lookup("nope") is kimberlite.KimberliteError
    e = errors._class_for_status("KMB_ERR_SOMETHING_NEW", 150)("x", code="KMB_ERR_SOMETHING_NEW")
    assert e.code == "KMB_ERR_SOMETHING_NEW"


def test_python_base_classes() -> None:
    assert issubclass(kimberlite.ConnectionFailed, ConnectionError)
    assert issubclass(kimberlite.ClusterUnavailable, ConnectionError)
    assert issubclass(kimberlite.DeadlineExceeded, TimeoutError)
    assert issubclass(kimberlite.InvalidArgument, ValueError)
    assert issubclass(kimberlite.InvalidUtf8, ValueError)
    assert issubclass(kimberlite.InvalidHandle, kimberlite.ClientClosed)
    for cls in (kimberlite.ConnectionFailed, kimberlite.DeadlineExceeded, kimberlite.NotLeader,
                kimberlite.OffsetMismatch, kimberlite.StreamNotFound, kimberlite.AuthenticationFailed,
                kimberlite.ClientClosed, kimberlite.ForkedProcess, kimberlite.OutcomeUnknown):
        assert issubclass(cls, kimberlite.KimberliteError)
    assert kimberlite.NotLeader("x").retryable and not kimberlite.OffsetMismatch("x").retryable


def test_a_code_registers_once() -> None:
    with pytest.raises(TypeError):
        class Again(kimberlite.KimberliteError, code="KMB_ERR_NOT_LEADER"):
            pass


@pytest.mark.parametrize("cls", [kimberlite.ConnectionFailed, kimberlite.DeadlineExceeded, kimberlite.NotLeader,
                                 kimberlite.InvalidArgument, kimberlite.KimberliteError, kimberlite.ServerOther])
def test_pickle_keeps_everything(cls) -> None:  # type: ignore[no-untyped-def]
    e = cls("boom", code=cls.code, server_code=15, request_id=99, retryable=True)
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is cls and str(e2) == "boom"
    assert (e2.code, e2.server_code, e2.request_id, e2.retryable) == (cls.code, 15, 99, True)
    assert "kimberlite." + cls.__name__ in repr(type(e2))
    assert "boom" in repr(e2)
