"""Where the library is found, and that importing the package loads nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from procs import REPO

PACKAGE = REPO / "bindings" / "python" / "kimberlite"


def run(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    full = {k: v for k, v in os.environ.items() if k != "KIMBERLITE_LIB"}
    full.update(env)
    full["PYTHONPATH"] = str(cwd)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=60)


def test_package_folder_first(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    pkg = tmp_path / "site" / "kimberlite"
    shutil.copytree(PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.environ["KIMBERLITE_LIB"], pkg / "libkimberlite.so")
    code = (
        "import kimberlite\n"
        "assert kimberlite.library_path() is None\n"
        f"c = kimberlite.Client.connect(addresses=[{server.addr!r}], tenant_id=1)\n"
        "print(kimberlite.library_path()); c.disconnect()\n"
    )
    res = run(code, tmp_path / "site")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(pkg / "libkimberlite.so")


def test_env_variable_overrides_the_package_copy(tmp_path: Path) -> None:
    pkg = tmp_path / "site" / "kimberlite"
    shutil.copytree(PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.environ["KIMBERLITE_LIB"], pkg / "libkimberlite.so")
    code = (
        "import kimberlite\n"
        "try:\n"
        "    kimberlite.Client.connect(addresses=['127.0.0.1:1'], tenant_id=1)\n"
        "except kimberlite.KimberliteError as e:\n"
        "    print(e)\n"
    )
    res = run(code, tmp_path / "site", KIMBERLITE_LIB="/nonexistent/libkimberlite.so")
    assert res.returncode == 0, res.stderr
    assert "cannot load libkimberlite.so" in res.stdout and "/nonexistent/libkimberlite.so" in res.stdout
    assert str(pkg / "libkimberlite.so") not in res.stdout


def test_env_variable(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "kimberlite", ignore=shutil.ignore_patterns("__pycache__"))
    lib = tmp_path / "elsewhere" / "libkimberlite.so"
    lib.parent.mkdir()
    shutil.copy(os.environ["KIMBERLITE_LIB"], lib)
    code = (
        "import kimberlite\n"
        f"c = kimberlite.Client.connect(addresses=[{server.addr!r}], tenant_id=1)\n"
        "print(kimberlite.library_path()); c.disconnect()\n"
    )
    res = run(code, site, KIMBERLITE_LIB=str(lib))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(lib)


def test_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "kimberlite", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import kimberlite\n"
        "try:\n"
        "    kimberlite.Client.connect(addresses=['127.0.0.1:1'], tenant_id=1)\n"
        "except kimberlite.KimberliteError as e:\n"
        "    print(e)\n"
    )
    res = run(code, site)
    assert res.returncode == 0, res.stderr
    assert "cannot load libkimberlite.so" in res.stdout and "KIMBERLITE_LIB" in res.stdout
