"""A baked project keeps up with its starter: .cruft.json, make check-starter
and make update (the project's tools/starter/ and Makefile; decision 0014).

The starter is a repository made from a snapshot of this working copy (every
file git lists, as in test_cookiecutter_source.py), with a bare clone to bake
from by URL. Its commit ``baked`` is what the projects are baked from; then,
in that temporary copy, the starter moves on:

- ``changed``: the page of the latest revisions gets a new title (a line the
  projects change too), the settings a new line, and the project a new file;
- ``main``: on top, a new question (``license``) and a file that uses it;
- ``broken``: on top of ``main``, a hook that fails.

A project baked at ``baked`` gets the changes a team makes (a new app with
its model, migration and test, an edited settings line, its own title on the
page), committed; then ``make update`` must keep them, bring the starter's,
mark the page's two titles as a conflict in the file, take the default of
the new question, and name ``main`` in .cruft.json; ``make check-starter``
must fail before and pass after. This is done for each database option
(baking, update, lint); the SQLite project, its conflict resolved, must also
pass its own ``make test``, installed from scratch.

Nothing here depends on the database of the run: the module runs in the
SQLite run with revy's own history models, like the end-to-end tests of
test_cookiecutter_source.py.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from cookiecutter.main import cookiecutter
from django.conf import settings

from scripts.bake import export
from tests.baking import (
    REPO_ROOT,
    bake,
    clean_environment,
    commit_working_copy,
    git,
    on_the_machines_python3,
    run,
)

pytestmark = pytest.mark.skipif(
    os.environ.get("REVY_TEST_SWAPPED", "0") == "1"
    or settings.DATABASE_NAME != "sqlite"
    or not on_the_machines_python3(),
    reason="the same on every database and in every run (make uses the machine's "
    "python3): runs in the SQLite run on that Python with revy's own models",
)

DATABASES = ("sqlite", "postgresql", "mariadb")
TEMPLATE = Path("template", "{{cookiecutter.project}}")
PACKAGE = TEMPLATE / "{{cookiecutter.project}}"
PAGE = Path("revisions", "templates", "revisions", "recent.html")
TITLE = "<h1>Latest revisions</h1>"
STARTERS_TITLE = "<h1>Latest revisions, newest first</h1>"
PROJECTS_TITLE = "<h1>What changed lately</h1>"
SESSION_LINE = (
    'SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 60 * 60 * 24 * 14)\n'
)
ZONE_LINE = 'TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")\n'
PROJECTS_ZONE_LINE = ZONE_LINE.replace('"UTC"', '"Europe/Istanbul"')


def replace(path, old, new):
    """Replace ``old`` (which must be there once) by ``new`` in ``path``."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


# The starter and its versions ------------------------------------------------------


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    root = tmp_path_factory.mktemp("starter")
    work = root / "revy"
    baked = commit_working_copy(work)
    git("tag", "baked", cwd=work)

    replace(work / PACKAGE / PAGE, TITLE, STARTERS_TITLE)
    anchor = "CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE\n"
    replace(work / PACKAGE / "settings.py", anchor, anchor + SESSION_LINE)
    operations = work / TEMPLATE / "docs" / "operations.md"
    operations.parent.mkdir()
    operations.write_text("# Operating {{ cookiecutter.project_name }}\n")
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "--message=Starter: newest revisions first", cwd=work)
    changed = git("rev-parse", "HEAD", cwd=work)

    context_file = work / "cookiecutter.json"
    items = list(json.loads(context_file.read_text()).items())
    at = [key for key, _ in items].index("use_async") + 1
    context = dict(items[:at] + [("license", ["MIT", "Proprietary"])] + items[at:])
    context["__prompts__"]["license"] = "License of the code"
    context_file.write_text(json.dumps(context, indent=2) + "\n")
    (work / TEMPLATE / "LICENSE.txt").write_text(
        "{{ cookiecutter.license }}, {{ cookiecutter.author }}\n"
    )
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "--message=Starter: a license", cwd=work)
    newest = git("rev-parse", "HEAD", cwd=work)

    git("switch", "--quiet", "--create", "broken", cwd=work)
    hook = work / "hooks" / "post_gen_project.py"
    hook.write_text(hook.read_text() + '\nraise SystemExit("This hook is broken.")\n')
    git("commit", "--quiet", "--all", "--message=Starter: broken", cwd=work)
    broken = git("rev-parse", "HEAD", cwd=work)
    git("switch", "--quiet", "main", cwd=work)

    bare = root / "revy.git"
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=root)
    return SimpleNamespace(
        work=work,
        bare=bare,
        url=bare.as_uri(),
        baked=baked,
        changed=changed,
        newest=newest,
        broken=broken,
    )


# A project and what a team does to it ----------------------------------------------


def bake_at(starter, folder, config_file, checkout=None, **answers):
    """A project baked from the starter's URL at ``checkout`` (its commit
    ``baked`` by default), committed in a repository of its own."""
    project = Path(
        cookiecutter(
            f"git+{starter.url}",
            checkout=checkout or starter.baked,
            no_input=True,
            extra_context=answers,
            output_dir=str(folder),
            config_file=config_file,
        )
    )
    git("init", "--quiet", cwd=project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--message=Baked with revy", cwd=project)
    return project


NOTES = {
    "__init__.py": "",
    "apps.py": """\
from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "{package}.notes"
""",
    "models.py": """\
from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.text
""",
    "migrations/__init__.py": "",
    "migrations/0001_initial.py": """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("text", models.CharField(max_length=200)),
            ],
        ),
    ]
""",
}
NOTES_TEST = """\
import pytest

from {package}.notes.models import Note


@pytest.mark.django_db
def test_a_note_is_kept():
    Note.objects.create(text="Kept through the starter's updates.")
    assert Note.objects.get().text == "Kept through the starter's updates."
"""


def change_the_project(project):
    """What a team does: a new app, a settings line edited, its own page title."""
    package = project / project.name
    for name, text in NOTES.items():
        (package / "notes" / name).parent.mkdir(parents=True, exist_ok=True)
        (package / "notes" / name).write_text(text.format(package=project.name))
    (project / "tests" / "test_notes.py").write_text(
        NOTES_TEST.format(package=project.name)
    )
    anchor = f'    "{project.name}.revisions",\n'
    replace(package / "settings.py", anchor, anchor + f'    "{project.name}.notes",\n')
    replace(package / "settings.py", ZONE_LINE, PROJECTS_ZONE_LINE)
    replace(package / PAGE, TITLE, PROJECTS_TITLE)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--message=Notes; our time zone; our title", cwd=project)


def make(project, *args, timeout=600):
    """``make args`` in the project, as a person runs it; its result, whatever it is."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=project,
        env=clean_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tool(project, *args, **kwargs):
    """tools/starter of the project, under this test run's Python (which
    has cookiecutter), without make."""
    return subprocess.run(
        [sys.executable, "tools/starter", *args],
        cwd=project,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        **({"stdin": subprocess.DEVNULL} | kwargs),
    )


def record(project):
    return json.loads((project / ".cruft.json").read_text())


def status(project):
    """git status, one line a path ("XY path"), as git prints it."""
    command = ["git", "status", "--porcelain", "--untracked-files=all"]
    return run(command, cwd=project).stdout


def leftovers(project):
    """Files a patch-based update leaves beside the project's own."""
    return [
        p.relative_to(project)
        for p in project.rglob("*")
        if p.suffix in (".rej", ".orig") and ".venv" not in p.parts
    ]


# Provenance --------------------------------------------------------------------------


def test_a_bake_from_a_git_url_records_the_starter_where_cruft_reads_it(
    starter, config_file, tmp_path
):
    project = bake_at(
        starter, tmp_path, config_file, project_name="Acme Ledger", database="mariadb"
    )
    answers = {
        "project_name": "Acme Ledger",
        "project": "acme_ledger",
        "description": "Records who changed what in our data, when and why, with revy.",
        "author": "Your Name",
        "database": "mariadb",
        "include_example_apps": True,
        "use_async": False,
        "api": True,
    }
    assert record(project) == {
        "template": starter.url,
        "commit": starter.baked,
        "checkout": None,  # a commit was named: there is no branch to follow
        "context": {
            "cookiecutter": {
                **answers,
                "_template": starter.url,
                "_commit": starter.baked,
            }
        },
        "directory": None,
    }
    shown = tool(project)
    assert shown.returncode == 0
    assert f"Baked from {starter.url} at {starter.baked}" in shown.stdout
    assert "database = 'mariadb'" in shown.stdout


def test_a_bake_of_a_tag_follows_the_tag(starter, config_file, tmp_path):
    project = bake_at(starter, tmp_path, config_file, checkout="baked")
    assert record(project)["checkout"] == "baked"
    assert record(project)["commit"] == starter.baked
    followed = tool(project, "check")
    assert followed.returncode == 0, followed.stderr
    assert "Up to date" in followed.stdout
    behind = tool(project, "check", "main")
    assert behind.returncode == 1
    assert "Starter: a license" in behind.stdout


def test_a_bake_from_a_checkout_folder_records_the_folder(
    starter, config_file, tmp_path
):
    project = bake(starter.work, tmp_path / "folder", config_file)
    assert record(project)["template"] == str(starter.work)
    assert record(project)["commit"] == starter.newest
    exported = bake(export(tmp_path / "export"), tmp_path / "exported", config_file)
    assert record(exported)["template"] == str(REPO_ROOT)
    head = git("rev-parse", "HEAD", cwd=REPO_ROOT)
    assert record(exported)["commit"] == head


def test_a_bake_from_a_copy_without_git_records_nothing_and_says_so(
    tmp_path, config_file, capfd
):
    template = export(tmp_path / "export")
    context = json.loads((template / "cookiecutter.json").read_text())
    context.update(_revy_source="", _revy_commit="")
    (template / "cookiecutter.json").write_text(json.dumps(context))
    project = bake(template, tmp_path / "out", config_file)
    assert not (project / ".cruft.json").exists()
    assert "No record of the starter" in capfd.readouterr().out
    missing = tool(project, "check")
    assert missing.returncode == 2
    assert ".cruft.json is missing" in missing.stderr


def test_cruft_check_reads_the_record(starter, config_file, tmp_path):
    cruft = [sys.executable, "-m", "cruft", "check"]
    current = bake_at(starter, tmp_path / "a", config_file, checkout="main")
    result = subprocess.run(cruft, cwd=current, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    behind = bake_at(starter, tmp_path / "b", config_file)
    result = subprocess.run(cruft, cwd=behind, capture_output=True, text=True)
    assert result.returncode == 1
    assert "out of date" in result.stdout


# make update across versions, for each database option ---------------------------


@pytest.fixture(scope="module")
def updated(starter, config_file, tmp_path_factory):
    """``updated(database)``: a project baked at ``baked`` with the team's
    changes, through make check-starter and make update to ``main``; what
    each said, and the page as the update left it. Then the conflict is
    resolved (both titles kept, the starter's as a subtitle) and committed."""
    done = {}

    def get(database):
        if database in done:
            return done[database]
        folder = tmp_path_factory.mktemp(f"update-{database}")
        project = bake_at(starter, folder, config_file, database=database)
        change_the_project(project)
        before = make(project, "check-starter")
        update = make(project, "update")
        page = project / project.name / PAGE
        state = SimpleNamespace(
            project=project,
            page=page,
            before=before,
            update=update,
            page_after_update=page.read_text(),
            status_after_update=status(project),
        )
        resolved = re.sub(
            r"<<<<<<< HEAD\n(.*?)=======\n(.*?)>>>>>>> [^\n]*\n",
            lambda m: m[1] + m[2].replace("<h1>", "<h2>").replace("</h1>", "</h2>"),
            state.page_after_update,
            flags=re.S,
        )
        page.write_text(resolved)
        git("add", "--all", cwd=project)
        git("commit", "--quiet", "--message=Update the starter", cwd=project)
        state.after = make(project, "check-starter")
        done[database] = state
        return state

    return get


@pytest.mark.parametrize("database", DATABASES)
def test_check_starter_lists_the_commits_the_project_lacks_then_passes(
    updated, starter, database
):
    state = updated(database)
    assert state.before.returncode != 0
    assert "Starter: newest revisions first" in state.before.stdout
    assert "Starter: a license" in state.before.stdout
    assert "2 commits the project does not have" in state.before.stdout
    assert state.after.returncode == 0, state.after.stdout + state.after.stderr
    assert "Up to date" in state.after.stdout


@pytest.mark.parametrize("database", DATABASES)
def test_make_update_keeps_the_projects_changes_and_brings_the_starters(
    updated, starter, database
):
    state = updated(database)
    project, package = state.project, state.project / state.project.name
    assert state.update.returncode != 0  # the page's conflict: make says so
    assert "1 file to resolve" in state.update.stdout, state.update.stderr
    # The project's own changes stay...
    assert (package / "notes" / "models.py").read_text() == NOTES["models.py"]
    assert (project / "tests" / "test_notes.py").is_file()
    settings_py = (package / "settings.py").read_text()
    assert f'    "{project.name}.notes",\n' in settings_py
    assert PROJECTS_ZONE_LINE in settings_py and ZONE_LINE not in settings_py
    # ... the starter's arrive, rendered with the project's answers...
    assert SESSION_LINE in settings_py
    assert (project / "docs" / "operations.md").read_text() == (
        f"# Operating {record(project)['context']['cookiecutter']['project_name']}\n"
    )
    assert f"@{starter.newest}" in (project / "pyproject.toml").read_text()
    # ... a new question takes its default, as cookiecutter's --no-input does...
    assert (project / "LICENSE.txt").read_text() == "MIT, Your Name\n"
    assert record(project)["context"]["cookiecutter"]["license"] == "MIT"
    assert "New question license: 'MIT'" in state.update.stdout
    # ... and the record names the starter's newest commit.
    assert record(project)["commit"] == starter.newest
    assert record(project)["context"]["cookiecutter"]["_commit"] == starter.newest
    assert record(project)["context"]["cookiecutter"]["database"] == database


@pytest.mark.parametrize("database", DATABASES)
def test_an_edit_both_sides_made_comes_out_as_conflict_markers(updated, database):
    state = updated(database)
    assert re.search(
        rf"^<<<<<<< HEAD\n{PROJECTS_TITLE}\n=======\n{STARTERS_TITLE}\n>>>>>>> .+$",
        state.page_after_update,
        re.M,
    ), state.page_after_update
    unmerged = [
        line for line in state.status_after_update.splitlines() if line[:2] == "UU"
    ]
    assert unmerged == [f"UU {state.project.name}/{PAGE}"]
    # Every other change is staged, none committed, and no patch leftovers.
    lines = state.status_after_update.splitlines()
    others = [line for line in lines if line[:2] != "UU"]
    assert others and all(line[0] in "AM" and line[1] == " " for line in others)
    assert leftovers(state.project) == []


@pytest.mark.parametrize("database", DATABASES)
def test_the_updated_project_passes_lint(updated, database):
    project = updated(database).project
    ruff = [sys.executable, "-m", "ruff"]
    run([*ruff, "check", "--no-cache", "."], cwd=project)
    run([*ruff, "format", "--check", "--no-cache", "."], cwd=project)


def test_the_updated_project_passes_its_own_make_test(updated):
    state = updated("sqlite")
    assert STARTERS_TITLE.replace("h1", "h2") in state.page.read_text()
    result = make(state.project, "test", timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All checks passed!" in result.stdout  # ruff check
    assert "tests/test_notes.py ." in result.stdout  # the team's app, tested
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary


# make update's refusals: nothing written ---------------------------------------------


@pytest.fixture
def project(starter, config_file, tmp_path):
    project = bake_at(starter, tmp_path, config_file)
    change_the_project(project)
    return project


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: (p / "README.md").write_text("ours\n"), id="edited"),
        pytest.param(lambda p: (p / "scratch.txt").write_text("new\n"), id="untracked"),
        pytest.param(
            lambda p: (
                (p / "README.md").write_text("staged\n"),
                git("add", "README.md", cwd=p),
            ),
            id="staged",
        ),
    ],
)
def test_update_writes_nothing_while_the_working_tree_has_changes(project, change):
    change(project)
    before = status(project)
    cruft_json = (project / ".cruft.json").read_text()
    result = tool(project, "update")
    assert result.returncode == 2
    assert "changes not committed; nothing was written" in result.stderr
    assert status(project) == before
    assert (project / ".cruft.json").read_text() == cruft_json
    assert git("stash", "list", cwd=project) == ""


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("broken", "could not bake the starter at"),
        ("no-such-branch", "The starter has no branch, tag or commit 'no-such-branch'"),
    ],
)
def test_an_update_that_fails_writes_nothing_and_keeps_the_recorded_commit(
    project, starter, to, message
):
    result = tool(project, "update", to)
    assert result.returncode == 2
    assert message in result.stderr
    if to == "broken":
        assert "This hook is broken." in result.stderr
    assert status(project) == ""
    assert record(project)["commit"] == starter.baked


def test_update_without_cookiecutter_says_how_to_get_it(project, tmp_path):
    venv = tmp_path / "bare-venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "tools/starter", "update"],
        cwd=project,
        env=clean_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "make update installs it, or pip install 'cookiecutter>=2.6,<3'" in (
        result.stderr
    )
    assert status(project) == ""


def test_update_outside_git_says_how_to_start(starter, config_file, tmp_path):
    project = bake_at(starter, tmp_path, config_file)
    (project / ".git").rename(tmp_path / "elsewhere.git")
    result = tool(project, "update")
    assert result.returncode == 2
    assert "is not in git: git init && git add . && git commit" in result.stderr


# make update: to a commit named, new questions asked, in a folder of a repository ---


def test_update_to_a_named_commit_then_to_the_newest(project, starter):
    first = tool(project, "update", starter.changed)
    assert first.returncode == 1, first.stderr  # the page's conflict
    assert record(project)["commit"] == starter.changed
    assert "license" not in record(project)["context"]["cookiecutter"]
    assert not (project / "LICENSE.txt").exists()
    page = project / project.name / PAGE
    page.write_text(page.read_text().split("<<<<<<< HEAD\n")[0] + "resolved\n")
    git("commit", "--quiet", "--all", "--message=Starter, first part", cwd=project)

    behind = tool(project, "check")
    assert behind.returncode == 1
    assert "Starter: a license" in behind.stdout
    assert "newest revisions first" not in behind.stdout

    second = tool(project, "update")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No conflicts" in second.stdout
    assert record(project)["commit"] == starter.newest
    assert (project / "LICENSE.txt").read_text() == "MIT, Your Name\n"
    git("commit", "--quiet", "--message=Starter, second part", cwd=project)
    again = tool(project, "update")
    assert again.returncode == 0 and "Nothing to do" in again.stdout
    assert status(project) == ""
    # A project ahead of what it is compared with is not behind it.
    assert tool(project, "check", "baked").returncode == 0


def test_paths_cruft_json_skips_stay_as_the_project_has_them(project, starter):
    """cruft's ``skip``: paths or glob patterns, from the project's folder."""
    skip = ["docs", "*.txt", f"{project.name}/{PAGE.as_posix()}"]
    (project / ".cruft.json").write_text(json.dumps(record(project) | {"skip": skip}))
    git("commit", "--quiet", "--all", "--message=Skip", cwd=project)
    result = tool(project, "update")
    assert result.returncode == 0, result.stdout + result.stderr  # no conflict
    assert not (project / "docs").exists() and not (project / "LICENSE.txt").exists()
    page = (project / project.name / PAGE).read_text()
    assert PROJECTS_TITLE in page and STARTERS_TITLE not in page
    assert SESSION_LINE in (project / project.name / "settings.py").read_text()
    assert record(project)["skip"] == skip
    assert record(project)["commit"] == starter.newest


def test_update_from_another_location_records_it(project, starter, tmp_path):
    missing = tool(project, "check", "--from", str(tmp_path / "gone"))
    assert missing.returncode == 2
    assert "a folder of the machine that baked the project? Name its git URL" in (
        missing.stderr
    )
    moved = tool(project, "update", "--from", str(starter.work))
    assert moved.returncode == 1, moved.stderr  # the page's conflict
    assert record(project)["template"] == str(starter.work)
    assert record(project)["commit"] == starter.newest
    # The hooks pinned revy as a bake from that folder does.
    assert (
        f'"revy @ {starter.work.as_uri()}",' in (project / "pyproject.toml").read_text()
    )


def test_a_new_question_is_asked_when_asked_for(project, starter):
    result = tool(project, "update", "--ask", input="2\n", stdin=None)
    assert result.returncode == 1, result.stderr  # the page's conflict
    assert "License of the code" in result.stdout
    assert record(project)["context"]["cookiecutter"]["license"] == "Proprietary"
    assert (project / "LICENSE.txt").read_text() == "Proprietary, Your Name\n"


def test_a_project_in_a_folder_of_a_larger_repository_is_updated_there(
    starter, config_file, tmp_path
):
    repository = tmp_path / "monorepo"
    repository.mkdir()
    (repository / "frontend.txt").write_text("not the project's\n")
    git("init", "--quiet", cwd=repository)
    project = Path(
        cookiecutter(
            f"git+{starter.url}",
            checkout=starter.baked,
            no_input=True,
            output_dir=str(repository / "backend"),
            config_file=config_file,
        )
    )
    git("add", "--all", cwd=repository)
    git("commit", "--quiet", "--message=Baked", cwd=repository)
    settings_py = project / project.name / "settings.py"
    replace(settings_py, ZONE_LINE, PROJECTS_ZONE_LINE)
    git("commit", "--quiet", "--all", "--message=Our zone", cwd=repository)

    result = tool(project, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert PROJECTS_ZONE_LINE in settings_py.read_text()
    assert SESSION_LINE in settings_py.read_text()
    assert (project / "LICENSE.txt").is_file()
    assert not (repository / "LICENSE.txt").exists()
    assert (repository / "frontend.txt").read_text() == "not the project's\n"
    changed = git("diff", "--staged", "--name-only", cwd=repository).splitlines()
    assert changed and all(name.startswith("backend/my_project/") for name in changed)
