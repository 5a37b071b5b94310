"""The wheel and the sdist hold revy and nothing of the starter kit.

Both are built once per module straight through the PEP 517 hooks of the
backend named in pyproject.toml, installed from PyPI into a temporary folder
(what ``pip wheel`` does with build isolation, which cannot make an sdist).
"""

import email
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import revy

ROOT = Path(__file__).resolve().parent.parent
STARTER_KIT = ("tests/", "template/", "hooks/", "benchmarks/", "docs/", "scripts/")

BUILD = """
import importlib, sys
backend = importlib.import_module(sys.argv[1])
print(backend.build_wheel(sys.argv[2]))
print(backend.build_sdist(sys.argv[2]))
"""


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """Build the checkout; return the paths of its wheel and its sdist."""
    tmp = tmp_path_factory.mktemp("dists")
    system = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    backend = tmp / "backend"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(backend)]
        + system["requires"],
        check=True,
    )
    # -S keeps the test environment out, so only the build requirements are seen.
    built = subprocess.run(
        [sys.executable, "-S", "-c", BUILD, system["build-backend"], str(tmp / "out")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(backend)},
        check=True,
        capture_output=True,
        text=True,
    )
    wheel, sdist = built.stdout.split()[-2:]
    return tmp / "out" / wheel, tmp / "out" / sdist


@pytest.fixture(scope="module")
def wheel(dists):
    with zipfile.ZipFile(dists[0]) as archive:
        return archive.namelist(), archive.read(
            f"revy-{revy.__version__}.dist-info/METADATA"
        ).decode()


def test_wheel_name(dists):
    assert dists[0].name == f"revy-{revy.__version__}-py3-none-any.whl"


def test_wheel_holds_only_revy(wheel):
    names, _ = wheel
    dist_info = f"revy-{revy.__version__}.dist-info/"
    strays = [n for n in names if not n.startswith(("revy/", dist_info))]
    assert strays == []
    assert {"revy/__init__.py", "revy/context.py", "revy/py.typed"} <= set(names)
    assert [n for n in names if n.startswith(STARTER_KIT)] == []


def test_wheel_metadata(wheel):
    _, text = wheel
    metadata = email.message_from_string(text)
    assert metadata["Name"] == "revy"
    assert metadata["Version"] == revy.__version__
    assert SpecifierSet(metadata["Requires-Python"]) == SpecifierSet(">=3.11")
    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    runtime = {r.name.lower(): r.specifier for r in requires if r.marker is None}
    assert runtime["django"] == SpecifierSet(">=5.2,<7")
    assert "stackholm" in runtime


def test_sdist_holds_the_package_and_no_starter_kit(dists):
    prefix = f"revy-{revy.__version__}/"
    with tarfile.open(dists[1]) as archive:
        names = [m.name for m in archive.getmembers() if m.isfile()]
    assert all(n.startswith(prefix) for n in names), names
    names = {n.removeprefix(prefix) for n in names}
    assert {"pyproject.toml", "revy/__init__.py", "revy/py.typed"} <= names
    assert [n for n in names if n.startswith(STARTER_KIT)] == []
