"""The optional C accelerator of Client.read (kimberlite/_speedups.c), and how it is found.

ctypes is the binding; the accelerator only makes the hottest call cheaper. It is looked for next
to the loaded libkimberlite.so (an installed wheel has both in the package folder; a checkout's
build folder has both after ``make lib``), so it always belongs to the library in use, and it is
given that library's function addresses rather than linking one of its own. When it is missing,
or KIMBERLITE_NO_SPEEDUPS is set to a non-empty value, every call goes through ctypes alone, with
the same results and errors.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import Optional, Tuple

from . import _ffi

#: The accelerator's file name, in the folder of libkimberlite.so.
FILE_NAME = "_speedups.abi3.so"

_state: Tuple[Optional[str], Optional[ModuleType]] = (None, None)  # (library path, module)
_lock = threading.Lock()


def speedups() -> Optional[ModuleType]:
    """The initialized accelerator for the loaded library, or None to use ctypes alone."""
    path = _ffi.loaded_path()
    owner, mod = _state
    if owner is not None and owner == path:
        return mod
    if path is None:
        _ffi.lib()  # load it (raises as any call would)
        path = _ffi.loaded_path()
    with _lock:
        mod = _load(path) if not os.environ.get("KIMBERLITE_NO_SPEEDUPS") else None
        _set(path, mod)
        return mod


def _set(path: Optional[str], mod: Optional[ModuleType]) -> None:
    global _state
    _state = (path, mod)


def _load(lib_path: Optional[str]) -> Optional[ModuleType]:
    if lib_path is None:
        return None
    file = Path(lib_path).resolve().parent / FILE_NAME
    if not file.is_file():
        return None
    loader = importlib.machinery.ExtensionFileLoader("kimberlite._speedups", str(file))
    spec = importlib.util.spec_from_file_location("kimberlite._speedups", str(file), loader=loader)
    if spec is None:
        return None
    try:
        mod = importlib.util.module_from_spec(spec)
        loader.exec_module(mod)
    except ImportError:  # built for another platform or interpreter: ctypes alone will do
        return None
    from . import _wait
    from .types import Event, ReadResult

    lib = _ffi.lib()

    def addr(name: str) -> int:
        return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value or 0

    mod.init(addr("kmb_read"), addr("kmb_read_async"), addr("kmb_events_free"), addr("kmb_waiter_wait"),
             addr("kmb_waiter_finish"), addr("kmb_waiter_events_callback"), Event, ReadResult, _wait.SLICE_MS)
    return mod
