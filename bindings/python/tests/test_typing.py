"""The package is fully typed: mypy --strict passes on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]


def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    res = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "kimberlite"],
                         cwd=HERE, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_py_typed_marker() -> None:
    assert (HERE / "kimberlite" / "py.typed").is_file()
