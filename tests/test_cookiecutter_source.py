"""A baked project installs the revy it was baked from.

Bakes from a git URL pin ``revy @ git+<URL>@<commit baked>``; bakes from a
folder holding a checkout pin its ``file:`` URL; ``make pin-revy`` moves the
pin and ``REVY=`` overrides it for one virtualenv (hooks/post_gen_project.py,
the project's tools/revy_pin.py and Makefile).

The repository baked from is a snapshot of this working copy (every file git
lists, committed in a repository of its own, plus a bare clone of it), so
what is tested is the template and the revy under test, not the last commit.
The two end-to-end tests install each baked project from its own declared
dependencies alone, with its own ``make test`` and no flags, then check that
the revy installed is the snapshot's, at the commit baked.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from cookiecutter.main import cookiecutter
from django.conf import settings

import revy
from scripts.bake import export
from tests.baking import (
    REPO_ROOT,
    bake,
    clean_environment,
    on_the_machines_python3,
    run,
    write_config,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
end_to_end = pytest.mark.skipif(
    os.environ.get("REVY_TEST_SWAPPED", "0") == "1"
    or settings.DATABASE_NAME != "sqlite"
    or not on_the_machines_python3(),
    reason="the same on every database and in every run (make uses the machine's "
    "python3): runs in the SQLite run on that Python with revy's own models",
)


def git(*args, cwd):
    command = [
        "git",
        "-c",
        "user.name=revy tests",
        "-c",
        "user.email=tests@revy.invalid",
    ]
    return run([*command, *args], cwd=cwd).stdout.strip()


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory):
    """This working copy as a repository: a commit tagged ``v-older``, then a
    commit on top (``head``); ``checkout`` is its folder, ``bare`` a bare clone."""
    root = tmp_path_factory.mktemp("snapshot")
    checkout = root / "revy"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO_ROOT / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, checkout / name)
    git("init", "--quiet", "--initial-branch=main", cwd=checkout)
    git("add", "--all", cwd=checkout)
    git("commit", "--quiet", "--message=older", cwd=checkout)
    git("tag", "v-older", cwd=checkout)
    older = git("rev-parse", "HEAD", cwd=checkout)
    (checkout / "SNAPSHOT.txt").write_text("This working copy, under test.\n")
    git("add", "--all", cwd=checkout)
    git("commit", "--quiet", "--message=snapshot", cwd=checkout)
    bare = root / "revy.git"
    git("clone", "--quiet", "--bare", str(checkout), str(bare), cwd=root)
    return SimpleNamespace(
        checkout=checkout,
        bare=bare,
        url=bare.as_uri(),
        head=git("rev-parse", "HEAD", cwd=checkout),
        older=older,
    )


def pin(project):
    """The revy requirement of a baked project."""
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    found = [d for d in dependencies if d.startswith("revy")]
    assert len(found) == 1, dependencies
    return found[0]


def pin_line(project):
    return next(
        line
        for line in (project / "pyproject.toml").read_text().splitlines()
        if line.strip().startswith('"revy')
    )


# Where the pin comes from ----------------------------------------------------------


@pytest.mark.parametrize("prefix", ["git+", ""])
def test_a_bake_from_a_git_url_pins_that_repository_at_the_commit_baked(
    snapshot, config_file, tmp_path, capfd, prefix
):
    project = bake(f"{prefix}{snapshot.url}", tmp_path, config_file)
    assert pin(project) == f"revy @ git+{snapshot.url}@{snapshot.head}"
    assert (project / "my_project" / "revisions" / "models.py").is_file()
    told = capfd.readouterr().out
    assert f"revy: revy @ git+{snapshot.url}@{snapshot.head}, the repository" in told


def test_a_bake_of_a_tag_pins_the_commit_of_the_tag(snapshot, config_file, tmp_path):
    project = Path(
        cookiecutter(
            snapshot.url,
            checkout="v-older",
            no_input=True,
            output_dir=str(tmp_path),
            config_file=config_file,
        )
    )
    assert pin(project) == f"revy @ git+{snapshot.url}@{snapshot.older}"


def test_an_abbreviation_of_the_users_config_pins_what_it_expands_to(
    snapshot, tmp_path
):
    config = write_config(
        tmp_path, abbreviations={"mine": f"{snapshot.bare.parent.as_uri()}/{{0}}.git"}
    )
    project = bake("mine:revy", tmp_path / "out", config)
    assert pin(project) == f"revy @ git+{snapshot.url}@{snapshot.head}"


def test_a_bake_from_a_folder_pins_that_folder_and_names_its_commit(
    snapshot, config_file, tmp_path, capfd
):
    project = bake(snapshot.checkout, tmp_path, config_file)
    assert pin(project) == f"revy @ {snapshot.checkout.as_uri()}"
    line = pin_line(project)
    assert f"# at {snapshot.head}; this machine only" in line
    assert "this machine only: before the project leaves it" in (
        capfd.readouterr().out.replace("\n", " ")
    )


def test_a_folder_typed_relative_to_the_shell_is_found_and_the_next_step_is_right(
    snapshot, config_file
):
    """As a person types it, from the folder that holds the checkout."""
    here = snapshot.checkout.parent
    result = run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file"]
        + [config_file, "--output-dir", "baked/relative", "revy"],
        cwd=here,
        env=clean_environment(PWD=str(here)),
    )
    project = here / "baked" / "relative" / "my_project"
    assert pin(project) == f"revy @ {snapshot.checkout.as_uri()}"
    assert "Next: cd baked/relative/my_project && make run" in result.stdout


def test_a_working_copy_export_pins_the_working_copy(
    template_copy, config_file, tmp_path
):
    project = bake(template_copy, tmp_path, config_file)
    assert pin(project) == f"revy @ {REPO_ROOT.as_uri()}"
    assert template_copy.joinpath("template").is_dir()
    assert (
        not (template_copy / ".venv").exists() and not (template_copy / "demo").exists()
    )


def test_make_bake_bakes_the_working_copy_without_its_ignored_folders(
    config_file, tmp_path
):
    """``make bake`` runs ``python -m scripts.bake``: cookiecutter's CLI on an
    export of the template's files, with the working copy as revy."""
    result = run(
        [
            sys.executable,
            "-m",
            "scripts.bake",
            "--no-input",
            "--config-file",
            config_file,
        ]
        + ["--output-dir", str(tmp_path), "project_name=Baked Here"],
        cwd=REPO_ROOT,
        env=clean_environment(PWD=str(REPO_ROOT)),
    )
    project = tmp_path / "baked_here"
    assert pin(project) == f"revy @ {REPO_ROOT.as_uri()}"
    assert f"Next: cd {project} && make run" in result.stdout
    exported = export(tmp_path / "export")
    names = {p.relative_to(exported).parts[0] for p in exported.rglob("*")}
    assert names == {"cookiecutter.json", "hooks", "template"}
    assert not [p for p in exported.rglob("*") if "__pycache__" in p.parts]


def test_a_folder_without_revy_pins_the_release_and_says_so(
    tmp_path, config_file, capfd
):
    template = export(tmp_path / "export")
    context = json.loads((template / "cookiecutter.json").read_text())
    (template / "cookiecutter.json").write_text(
        json.dumps({**context, "_revy_source": ""})
    )
    project = bake(template, tmp_path / "out", config_file)
    assert pin(project) == f"revy=={revy.__version__}"
    assert "holds no checkout of revy" in capfd.readouterr().out


# tools/revy_pin.py: what each TO pins ---------------------------------------------


@pytest.fixture(scope="module")
def revy_pin(template_copy, config_file, tmp_path_factory):
    project = bake(template_copy, tmp_path_factory.mktemp("pin-tool"), config_file)
    spec = importlib.util.spec_from_file_location(
        "revy_pin", project / "tools/revy_pin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("to", "requirement"),
    [
        ("2.0.0a2", "revy==2.0.0a2"),
        ("==2.1.0", "revy==2.1.0"),
        (f"gh:ertgl/revy@{SHA}", f"revy @ git+https://github.com/ertgl/revy.git@{SHA}"),
        (f"gl:team/revy@{SHA}", f"revy @ git+https://gitlab.com/team/revy.git@{SHA}"),
        (
            f"git@github.com:ertgl/revy.git@{SHA}",
            f"revy @ git+ssh://git@github.com/ertgl/revy.git@{SHA}",
        ),
        (
            f"git+ssh://git@example.com/revy.git@{SHA}",
            f"revy @ git+ssh://git@example.com/revy.git@{SHA}",
        ),
        (
            f"https://example.com/revy.git@{SHA}",
            f"revy @ git+https://example.com/revy.git@{SHA}",
        ),
    ],
)
def test_the_pin_tool_reads_releases_and_git_urls(revy_pin, to, requirement):
    assert revy_pin.requirement_for(to) == (requirement, "")


def test_the_pin_tool_turns_a_branch_or_tag_into_its_commit(revy_pin, snapshot):
    bare = f"git+{snapshot.url}"
    assert (
        revy_pin.requirement_for(f"{snapshot.url}@v-older")[0]
        == f"revy @ {bare}@{snapshot.older}"
    )
    assert (
        revy_pin.requirement_for(f"{snapshot.bare}@main")[0]
        == f"revy @ {bare}@{snapshot.head}"
    )
    assert (
        revy_pin.requirement_for(str(snapshot.bare))[0]
        == f"revy @ {bare}@{snapshot.head}"
    )


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("nonsense", "is neither a release, a git URL nor a folder"),
        ("{bare}@no-such-tag", "has no branch or tag 'no-such-tag'"),
        ("{tmp}", "is not a checkout of revy"),
        ("", "name a release"),
    ],
)
def test_the_pin_tool_refuses_what_it_cannot_pin(
    revy_pin, snapshot, tmp_path, to, message
):
    with pytest.raises(revy_pin.PinError, match=message):
        revy_pin.requirement_for(to.format(bare=snapshot.url, tmp=tmp_path))


# End to end: install from the project's own dependencies, make test, move the pin ----


def installed_revy(project):
    """Version, folder and direct_url.json of the revy in the project's .venv."""
    script = (
        "import json, pathlib, revy, importlib.metadata as m\n"
        "d = m.distribution('revy').read_text('direct_url.json')\n"
        "print(json.dumps({'version': revy.__version__,"
        " 'folder': str(pathlib.Path(revy.__file__).resolve().parent),"
        " 'direct_url': json.loads(d) if d else None}))"
    )
    result = run([str(project / ".venv/bin/python"), "-c", script], cwd=project)
    return json.loads(result.stdout)


def same_sources(installed_folder, checkout):
    """True if the installed package holds the checkout's revy, file for file."""
    ours = sorted(p.relative_to(checkout) for p in (checkout / "revy").rglob("*.py"))
    theirs = sorted(
        p.relative_to(Path(installed_folder).parent)
        for p in Path(installed_folder).rglob("*.py")
    )
    return ours == theirs and all(
        (checkout / p).read_bytes() == (Path(installed_folder).parent / p).read_bytes()
        for p in ours
    )


def make(project, *args):
    return run(["make", *args], cwd=project, env=clean_environment(), timeout=1200)


def check_the_suite_passed(result):
    assert "All checks passed!" in result.stdout  # ruff check
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary


@end_to_end
def test_a_project_baked_from_a_git_url_installs_that_commit_and_passes_make_test(
    snapshot, config_file, tmp_path
):
    project = bake(
        f"git+{snapshot.url}", tmp_path, config_file, project_name="From Git"
    )
    check_the_suite_passed(make(project, "test"))
    installed = installed_revy(project)
    assert installed["version"] == revy.__version__
    assert Path(installed["folder"]).is_relative_to(project / ".venv")
    assert installed["direct_url"]["url"] == snapshot.url
    assert installed["direct_url"]["vcs_info"]["commit_id"] == snapshot.head
    assert same_sources(installed["folder"], snapshot.checkout)

    # Moving the pin: the documented command, which reinstalls.
    make(project, "pin-revy", f"TO={snapshot.bare}@v-older")
    assert pin(project) == f"revy @ git+{snapshot.url}@{snapshot.older}"
    assert (
        installed_revy(project)["direct_url"]["vcs_info"]["commit_id"] == snapshot.older
    )


@end_to_end
def test_a_project_baked_from_a_folder_installs_that_folder_and_passes_make_test(
    snapshot, config_file, tmp_path
):
    project = bake(snapshot.checkout, tmp_path, config_file, database="postgresql")
    check_the_suite_passed(make(project, "test"))
    installed = installed_revy(project)
    assert installed["version"] == revy.__version__
    assert installed["direct_url"]["url"] == snapshot.checkout.as_uri()
    assert same_sources(installed["folder"], snapshot.checkout)

    # REVY= installs another revy in this virtualenv, and leaves the pin alone.
    make(project, "install", f"REVY=git+{snapshot.url}@v-older")
    assert (
        installed_revy(project)["direct_url"]["vcs_info"]["commit_id"] == snapshot.older
    )
    assert pin(project) == f"revy @ {snapshot.checkout.as_uri()}"
    make(project, "install")
    assert installed_revy(project)["direct_url"]["url"] == snapshot.checkout.as_uri()
