"""The ctypes declarations and Client.connect's options stay in step with include/kimberlite.h."""

from __future__ import annotations

import ctypes
import inspect
import re
from typing import Dict, List, Tuple

from kimberlite import TLS, Client, _ffi, _wait
from procs import REPO

SCALARS = {
    "uint64_t": ctypes.c_uint64, "uint32_t": ctypes.c_uint32, "int32_t": ctypes.c_int32,
    "kmb_status_t": ctypes.c_int32, "double": ctypes.c_double, "size_t": ctypes.c_size_t, "int": ctypes.c_int,
    "bool": ctypes.c_bool,
}


def prototypes() -> Dict[str, Tuple[str, List[str]]]:
    text = (REPO / "include" / "kimberlite.h").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for ret, name, params in re.findall(r"KMB_EXTERN\s+([\w\s\*]+?)\s*\b(kmb_\w+)\s*\(([^)]*)\)\s*;", text):
        args = [] if params.strip() in ("", "void") else [p.strip() for p in params.split(",")]
        out[name] = (ret.strip(), args)
    return out


def c_type_of(param: str) -> str:
    """The type part of "const uint8_t *const *events" -> "const uint8_t *const *"."""
    return re.sub(r"\s*\b\w+$", "", param).strip() if not param.endswith("*") else param


def test_every_synchronous_function_is_declared() -> None:
    protos = prototypes()
    assert len(protos) > 40
    declared = {name: (res, args) for name, res, args in _ffi._SIGNATURES + _wait._SIGNATURES
                if not name.endswith("_async")}
    # The waiter callbacks are passed by address, never called from Python.
    wanted = {n for n in protos if not n.endswith("_async")
              and (not n.endswith("_callback") or n.startswith("kmb_config_set_"))}
    assert wanted == set(declared), (wanted ^ set(declared))
    # The _async functions kimberlite.aio uses: in the header, with as many parameters.
    for name, _res, args in _ffi._SIGNATURES:
        if name.endswith("_async"):
            assert name in protos and len(protos[name][1]) == len(args), name
    for name in wanted:
        ret, params = protos[name]
        res, args = declared[name]
        assert len(params) == len(args), name
        if ret == "void":
            assert res is None, name
        elif ret in SCALARS:
            assert res is SCALARS[ret], name
        else:
            assert "*" in ret and res is (ctypes.c_void_p if ret.startswith("void") else ctypes.c_char_p), name
        for param, arg in zip(params, args):
            ctype = c_type_of(param)
            if ctype.endswith("_callback_t"):  # a function pointer, passed as a CFUNCTYPE object
                assert arg is ctypes.c_void_p, (name, param)
            elif "*" not in ctype:
                assert arg is SCALARS[ctype.replace("const ", "")], (name, param)
            elif ctype.replace(" ", "") == "constchar*":
                assert arg is ctypes.c_char_p, (name, param)
            else:
                assert arg is ctypes.c_void_p or issubclass(arg, ctypes._Pointer), (name, param)  # type: ignore[arg-type]


def test_every_config_setter_is_an_option() -> None:
    setters = [n for n in prototypes() if n.startswith("kmb_config_set_")]
    keywords = set(inspect.signature(Client.connect).parameters)
    tls_keywords = set(inspect.signature(TLS).parameters)
    for setter in setters:
        option = re.sub(r"_ms$", "", setter[len("kmb_config_set_"):])
        if option.startswith("tls_"):  # set through kimberlite.TLS
            option = {"insecure_skip_verify": "verify"}.get(option[4:], option[4:])
            assert option in tls_keywords, f"{setter} has no kimberlite.TLS option"
            continue
        option = {"tenant": "tenant_id", "event_callback": "on_event"}.get(option, option)
        if option == "log_callback":  # records always go to logging.getLogger("kimberlite")
            continue
        assert option in keywords, f"{setter} has no Client.connect option"


def test_events_struct_layout() -> None:
    text = (REPO / "include" / "kimberlite.h").read_text()
    body = re.search(r"typedef struct kmb_events \{(.*?)\} kmb_events_t;", text, re.S)
    assert body
    fields = re.findall(r"\b(\w+);", re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S))
    assert fields == [f[0] for f in _ffi.Events._fields_]
    body = re.search(r"typedef struct kmb_server_info \{(.*?)\} kmb_server_info_t;", text, re.S)
    assert body
    fields = re.findall(r"\b(\w+);", re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S))
    assert fields == [f[0] for f in _ffi.ServerInfoStruct._fields_]


def test_constants() -> None:
    text = (REPO / "include" / "kimberlite.h").read_text()
    assert f"#define KMB_MAX_BATCH_BYTES {_ffi.MAX_BATCH_BYTES}" in text
    assert "#define KMB_KEEP_ALIVE_DISABLED UINT64_MAX" in text and _ffi.KEEP_ALIVE_DISABLED == 2**64 - 1
    for name, value in (("KMB_ERR_INVALID_HANDLE", 3), ("KMB_ERR_TIMEOUT", 7), ("KMB_ERR_FORKED", 11)):
        assert re.search(rf"\b{name} = {value},", text)
        assert getattr(_ffi, name) == value


def test_enums() -> None:
    from kimberlite import ClusterMode, DataClass, ReadFrom

    text = (REPO / "include" / "kimberlite.h").read_text()
    found = dict(re.findall(r"\bKMB_DATA_CLASS_(\w+) = (\d+)", text))
    # DataClass has the official SDK's numbers; wire_value must be the header's.
    assert {k: int(v) for k, v in found.items()} == {d.name: d.wire_value for d in DataClass}
    for prefix, enum in (("KMB_READ_FROM_", ReadFrom), ("KMB_CLUSTER_MODE_", ClusterMode)):
        found = dict(re.findall(rf"\b{prefix}(\w+) = (\d+)", text))
        assert found, prefix
        assert {k: int(v) for k, v in found.items()} == {m: int(v) for m, v in enum.__members__.items()}
