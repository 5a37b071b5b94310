"""The wheel and the sdist hold revy and nothing of the starter kit; pip
prefers this version to the index's earlier alphas (decision 0012); the seed
README's examples, which ``make dist`` runs against the wheel, run here
against the checkout.

Both are built once per module straight through the PEP 517 hooks of the
backend named in pyproject.toml, installed from PyPI into a temporary folder
(what ``pip wheel`` does with build isolation, which cannot make an sdist).
"""

import email
import json
import os
import shutil
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
    assert {"README.md", "LICENSE", "CHANGELOG.md"} <= names
    assert [n for n in names if n.startswith(STARTER_KIT)] == []


# The version line (decision 0012) ------------------------------------------------


def stub_wheel(folder, version):
    """A wheel named revy at ``version`` with nothing in it but its metadata,
    standing for the index's earlier releases."""
    dist_info = f"revy-{version}.dist-info"
    files = {
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: revy\nVersion: {version}\n"
        ),
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
        "Root-Is-Purelib: true\nTag: py2-none-any\nTag: py3-none-any\n",
    }
    files[f"{dist_info}/RECORD"] = "".join(f"{name},,\n" for name in files) + (
        f"{dist_info}/RECORD,,\n"
    )
    with zipfile.ZipFile(folder / f"revy-{version}-py2.py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)


def chosen_by_pip(links, tmp_path):
    """The version ``pip install revy`` installs from the wheels in ``links``."""
    report = tmp_path / "report.json"
    subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "install", "--quiet"]
        + ["--dry-run", "--ignore-installed", "--no-deps", "--no-index"]
        + ["--find-links", str(links), "--report", str(report), "revy"],
        check=True,
    )
    installs = json.loads(report.read_text())["install"]
    return [item["metadata"]["version"] for item in installs]


def test_pip_install_revy_selects_this_version_over_the_index_alphas(dists, tmp_path):
    links = tmp_path / "links"
    links.mkdir()
    for old in ("1.0.0a12", "1.0.0a17"):
        stub_wheel(links, old)
    # Without this version, pip takes the newest alpha: no final release exists.
    assert chosen_by_pip(links, tmp_path) == ["1.0.0a17"]
    shutil.copy(dists[0], links)
    assert chosen_by_pip(links, tmp_path) == [revy.__version__]


def test_the_changelog_has_a_section_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    unreleased = changelog.split("## [Unreleased]", 1)[-1].split("\n## ", 1)[0]
    assert f"released as {revy.__version__}" in unreleased or (
        f"## [{revy.__version__}]" in changelog
    )


def test_the_seed_readme_examples_run_against_the_checkout():
    """The script ``make dist`` runs against the wheel, run here on the checkout."""
    result = subprocess.run(
        [sys.executable, "-m", "seed_readme"],
        cwd=ROOT / "scripts",
        env={k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"revy {revy.__version__} from {ROOT / 'revy'}" in result.stdout
    assert result.stdout.count("ok: ") >= 10
    assert result.stdout.rstrip().endswith("The seed README's examples ran as written.")
