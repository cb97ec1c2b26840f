"""Build hooks of the kimberlite package: libkimberlite.so is built from the Go sources (Go is the
one build requirement) and shipped inside the package, so the wheel is platform-specific. The
optional C accelerator of Client.read (kimberlite/_speedups.c, Python's limited API) is compiled
beside it when this Python has its headers and a C compiler is found; without it the wheel is
still complete (ctypes alone).

The Go sources are the repository (two folders up) when building from a checkout, or the copy an
sdist carries in go-src/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
# What build.sh lib needs besides the module's own packages that ffi/ imports (go_packages()).
GO_FILES = ["go.mod", "go.sum", "build.sh", "include"]


def go_source() -> Path:
    for root in (HERE / "go-src", HERE.parents[1]):
        if (root / "go.mod").is_file() and (root / "ffi").is_dir():
            return root
    raise SystemExit("kimberlite: no Go sources of libkimberlite found (go-src/ or ../../)")


class BuildPyWithLibrary(build_py):
    """Copies the modules, then builds libkimberlite.so into the package being built."""

    def run(self) -> None:
        super().run()
        if shutil.which("go") is None:
            raise SystemExit("kimberlite: building this package needs Go 1.26 or newer on PATH "
                             "(https://go.dev/dl/): it compiles libkimberlite.so")
        out = Path(self.build_lib).resolve() / "kimberlite"
        out.mkdir(parents=True, exist_ok=True)
        src = go_source()
        subprocess.run(["bash", str(src / "build.sh"), "lib", str(out)], check=True)
        link = out / "libkimberlite.so.0"  # build.sh's soname symlink; the loader opens the file
        if link.is_symlink():
            link.unlink()
        speedups = subprocess.run(
            ["bash", str(HERE / "build-speedups.sh"), str(out), str(src / "include"), sys.executable])
        if speedups.returncode not in (0, 3):  # 3: no Python headers, so no accelerator
            raise SystemExit("kimberlite: compiling kimberlite/_speedups.c failed")


def built_speedups(build_lib: str) -> bool:
    return (Path(build_lib) / "kimberlite" / "_speedups.abi3.so").is_file()


class PlatformWheel(bdist_wheel):
    """cp310-abi3-<platform> with the accelerator (limited API of CPython 3.10), else
    py3-none-<platform> (ctypes alone); the library is per platform."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple[str, str, str]:
        plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        build_lib = self.get_finalized_command("build").build_lib
        if built_speedups(build_lib):
            return "cp310", "abi3", plat
        return "py3", "none", plat


def go_packages(src: Path) -> list[str]:
    """The folders of this module's packages that ffi/ builds from (itself included), relative."""
    listed = subprocess.run(
        ["go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./ffi"],
        cwd=src, check=True, capture_output=True, text=True).stdout.split()
    return [str(Path(d).relative_to(src.resolve())) for d in listed]


class SdistWithGoSources(sdist):
    """Carries the Go sources the library is built from, so the sdist builds the same way."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        src = go_source()
        dest = Path(base_dir) / "go-src"
        for part in GO_FILES + go_packages(src):
            p = src / part
            if p.is_dir():
                shutil.copytree(p, dest / part, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*_test.go", "testdata"))
            else:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, dest / part)


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return True


setup(
    distclass=BinaryDistribution,
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel, "sdist": SdistWithGoSources},
)
