"""The cookiecutter: every combination of options bakes a project that works.

For each combination the bake must render completely, pass ruff, pass
``manage.py check`` and ``makemigrations --check``, and pass its own test
suite, run in a subprocess, in a virtualenv that has this checkout's revy
installed (editable) with the project's declared dependencies. Bad answers
must fail with one clear line and leave nothing behind. Where the baked
project's revy comes from is tested in test_cookiecutter_source.py.

Bakes use the export of ``make bake`` (scripts/bake.py: the files git lists
under cookiecutter.json, hooks/ and template/): cookiecutter copies the
whole template folder before running hooks/pre_prompt.py, and in a working
tree that would be .venv and every other ignored folder too.

The expensive checks (Django's checks, the generated test suites) run only
when REVY_TEST_SWAPPED is not "1": swapping the history models of *this*
test project does not change what the cookiecutter bakes, and the Makefile
runs the suite twice per database.
"""

import fcntl
import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import uuid
from urllib.parse import quote

import pytest
from cookiecutter.exceptions import FailedHookException
from django.conf import settings

import revy
from tests import browser
from tests.baking import REPO_ROOT, bake, clean_environment, run

SWAPPED = os.environ.get("REVY_TEST_SWAPPED", "0") == "1"
# The database of this test run: the generated suites run on it too.
DATABASE = settings.DATABASE_NAME
DRIVERS = {"sqlite": None, "postgresql": "psycopg", "mariadb": "mysqlclient"}
expensive = pytest.mark.skipif(
    SWAPPED,
    reason="runs once per database, in the run with revy's own history models",
)
# The README's walk-throughs (a field added to Revision, a field renamed) run
# on the project's default database, SQLite: revy's own suite runs the same
# migrations and operations on every database.
walk_through = pytest.mark.skipif(
    SWAPPED or DATABASE != "sqlite",
    reason="a walk-through on the project's default database: runs in the SQLite "
    "run with revy's own history models",
)

COMBINATIONS = [
    {
        "database": database,
        "include_example_apps": examples,
        "use_async": use_async,
        "api": api,
    }
    for database, examples, use_async, api in itertools.product(
        ("sqlite", "postgresql", "mariadb"), (True, False), (True, False), (True, False)
    )
]
# The combinations whose own suites run, two per database: each pair of values
# of any two options (the database among them) appears in one of the six. The
# first of each database's pair has the example apps, for the browser tests.
SUITES_ON = {
    database: [
        {"include_example_apps": examples, "use_async": use_async, "api": api}
        for examples, use_async, api in pair
    ]
    for database, pair in {
        "sqlite": ((True, True, True), (False, False, False)),
        "postgresql": ((True, False, False), (False, True, True)),
        "mariadb": ((True, False, True), (False, True, False)),
    }.items()
}
# Lines that hold the package name must pass ruff for any length allowed.
LONG_NAME = "a" * 40


def combination_id(options):
    return "-".join(
        [
            options["database"],
            "examples" if options["include_example_apps"] else "bare",
            "async" if options["use_async"] else "sync",
            "api" if options["api"] else "noapi",
        ]
    )


def package_for(options):
    """A distinct package per combination; one of them as long as allowed."""
    if options == COMBINATIONS[0]:
        return LONG_NAME
    return "shop_" + combination_id(options).replace("-", "_")


# Baking ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def baked(template_copy, config_file, tmp_path_factory):
    """``baked(options)``: the project baked with ``options``, once per session."""
    projects = {}

    def get(options):
        key = combination_id(options)
        if key not in projects:
            projects[key] = bake(
                template_copy,
                tmp_path_factory.mktemp(key),
                config_file,
                project_name=f"Shop {key}",
                project=package_for(options),
                **options,
            )
        return projects[key]

    return get


# The virtualenv the generated projects run in ----------------------------------


def requirements(pyproject):
    """The project's dependencies and dev extras, revy taken from this checkout."""
    project = tomllib.loads(pyproject.read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [r for r in declared if not re.match(r"revy\b", r)]


@pytest.fixture(scope="session")
def project_python(baked):
    """A virtualenv with this checkout's revy (editable) and what the projects
    need, kept in .venv-cookiecutter-* and reused while those needs are the same.
    """
    options = {
        "database": DATABASE,
        "include_example_apps": True,
        "use_async": True,
        "api": True,
    }
    needed = sorted(requirements(baked(options) / "pyproject.toml"))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = REPO_ROOT / f".venv-cookiecutter-{version}"
    python = venv / "bin" / "python"
    stamp = venv / (
        ".installed-" + hashlib.sha256(json.dumps(needed).encode()).hexdigest()[:16]
    )
    venv.mkdir(exist_ok=True)
    # Test runs side by side take turns to install.
    with (venv / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not stamp.exists():
            if not python.exists():
                run([sys.executable, "-m", "venv", str(venv)], cwd=REPO_ROOT)
            run(
                [str(python), "-m", "pip", "install", "--quiet", "-e", str(REPO_ROOT)]
                + needed,
                cwd=REPO_ROOT,
            )
            stamp.touch()
    return python


def scratch_database_url():
    """A DATABASE_URL on this run's server; the generated suite creates and
    drops its test_* database there."""
    database = settings.DATABASES["default"]
    scheme = {"postgresql": "postgres", "mariadb": "mysql"}[DATABASE]
    credentials = quote(database["USER"], safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    name = f"revy_cc_{uuid.uuid4().hex[:12]}"
    return f"{scheme}://{credentials}@{database['HOST']}:{database['PORT']}/{name}"


# Every combination: rendering and layout -------------------------------------------

UNRENDERED = re.compile(r"\{\{|\{%|%\}")


@pytest.mark.parametrize("options", COMBINATIONS, ids=combination_id)
def test_the_bake_renders_completely(baked, options):
    project = baked(options)
    package = package_for(options)
    assert project.name == package
    for path in project.rglob("*"):
        relative = path.relative_to(project)
        assert "{{" not in str(relative) and "cookiecutter" not in str(relative)
        if path.is_dir():
            continue
        text = path.read_text()
        if path.suffix == ".html":
            # Django templates, copied as they are (_copy_without_render).
            assert "cookiecutter" not in text, relative
        else:
            assert not UNRENDERED.search(text), f"{relative}: {UNRENDERED.search(text)}"


@pytest.mark.parametrize("options", COMBINATIONS, ids=combination_id)
def test_the_options_shape_the_project(baked, options):
    project = baked(options)
    package = project / package_for(options)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dependencies = pyproject["project"]["dependencies"]
    # Baked from an export of this checkout (make bake): pinned to the checkout.
    assert f"revy @ {REPO_ROOT.as_uri()}" in dependencies
    assert any(d.startswith("dj-database-url") for d in dependencies)
    drivers = {d.split("[")[0].split(">")[0] for d in dependencies} & {
        "psycopg",
        "mysqlclient",
    }
    expected = DRIVERS[options["database"]]
    assert drivers == ({expected} if expected else set())
    assert any(d.startswith("uvicorn") for d in dependencies) is options["use_async"]
    assert (package / "asgi.py").exists() is options["use_async"]
    assert (project / "tests" / "test_async.py").exists() is options["use_async"]
    for app in ("blog", "invoices", "reviews", "demo"):
        assert (package / app).exists() is options["include_example_apps"], app
    examples, api = options["include_example_apps"], options["api"]
    assert any(d.startswith("djangorestframework") for d in dependencies) is api
    assert any(d.startswith("django-tasks-db") for d in dependencies) is examples
    assert (package / "api" / "urls.py").exists() is api
    assert (package / "api" / "views.py").exists() is (api and examples)
    assert (project / "tests" / "test_api_token.py").exists() is api
    assert (project / "tests" / "test_api.py").exists() is (api and examples)
    installed = (package / "settings.py").read_text()
    assert (f'"{package.name}.blog"' in installed) is options["include_example_apps"]
    assert ('"rest_framework.authtoken"' in installed) is options["api"]
    env_example = (project / ".env.example").read_text()
    scheme = {"sqlite": "sqlite:", "postgresql": "postgres:", "mariadb": "mysql:"}
    assert f"DATABASE_URL={scheme[options['database']]}" in env_example
    for name in ("README.md", "Makefile", ".gitignore", "manage.py"):
        assert (project / name).is_file(), name
    migrations = ["accounts", "revisions"] + (
        ["blog", "invoices", "reviews"] if options["include_example_apps"] else []
    )
    browser_tests = project / "tests" / "test_reviews_browser.py"
    assert browser_tests.exists() is options["include_example_apps"]
    for app in migrations:
        assert (package / app / "migrations" / "0001_initial.py").is_file(), app


@pytest.mark.parametrize("options", COMBINATIONS, ids=combination_id)
def test_ruff_passes_on_the_bake(baked, options):
    project = baked(options)
    ruff = [sys.executable, "-m", "ruff"]
    run([*ruff, "check", "--no-cache", "."], cwd=project)
    run([*ruff, "format", "--check", "--no-cache", "."], cwd=project)


def test_the_private_revy_version_is_revys():
    context = json.loads((REPO_ROOT / "cookiecutter.json").read_text())
    assert context["_revy_version"] == revy.__version__


def test_every_variable_has_a_prompt():
    context = json.loads((REPO_ROOT / "cookiecutter.json").read_text())
    public = [key for key in context if not key.startswith("_")]
    assert public == [
        "project_name",
        "project",
        "description",
        "author",
        "database",
        "include_example_apps",
        "use_async",
        "api",
    ]
    prompts = context["__prompts__"]
    assert set(prompts) == set(public)
    assert context["database"][0] == "sqlite"


def test_the_package_name_derives_from_the_project_name(
    template_copy, config_file, tmp_path
):
    project = bake(
        template_copy, tmp_path, config_file, project_name="Müller & Söhne Records"
    )
    assert project.name == "muller_sohne_records"
    readme = (project / "README.md").read_text()
    assert readme.startswith("# Müller & Söhne Records\n")


def test_quotes_in_answers_stay_valid_toml_and_python(
    template_copy, config_file, tmp_path
):
    project = bake(
        template_copy,
        tmp_path,
        config_file,
        project_name='The "Quoted" Shop',
        project="quoted",
        author='O\'Brien "Ops" Team',
        description='Says "hi" \\ with a backslash',
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["description"] == 'Says "hi" \\ with a backslash'
    assert pyproject["authors"] == [{"name": 'O\'Brien "Ops" Team'}]
    compile((project / "quoted" / "urls.py").read_text(), "urls.py", "exec")


# Every combination: Django's checks and the project's own suite ----------------------


@expensive
@pytest.mark.parametrize(
    "options",
    [options for options in COMBINATIONS if options["database"] == DATABASE],
    ids=combination_id,
)
def test_django_checks_pass(baked, project_python, options):
    project = baked(options)
    env = clean_environment(DJANGO_SECRET_KEY="check-" + "k" * 50, DJANGO_ENV_FILE="")
    python = str(project_python)
    run([python, "manage.py", "check", "--fail-level", "WARNING"], cwd=project, env=env)
    result = run(
        [python, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=project,
        env=env,
    )
    assert "No changes detected" in result.stdout


# The generated suites are the same code whatever the database option (it only
# picks the driver, .env.example and README lines): each run executes, on its
# own database, the suites of its two combinations in SUITES_ON. The
# review workflow's browser tests run in the first of them only (one Chromium
# per test); REVY_REQUIRE_BROWSER=1 makes them fail there rather than skip
# without a browser, and they may skip only for the want of one. So does the
# test that waits for the server to kill a request (a minute on the servers).
BROWSER_TESTS = "tests/test_reviews_browser.py"
ONCE_PER_DATABASE = [
    "tests/test_production.py::test_a_request_that_times_out_leaves_no_half_revision",
]
LACKING_BROWSER = re.compile(
    r"selenium is not installed|no Chromium found|no chromedriver found"
)


@expensive
@pytest.mark.parametrize(
    "options",
    [{"database": DATABASE, **options} for options in SUITES_ON[DATABASE]],
    ids=combination_id,
)
def test_the_generated_suite_passes(baked, project_python, options):
    project = baked(options)
    extra = {} if DATABASE == "sqlite" else {"DATABASE_URL": scratch_database_url()}
    extra["REQUIRE_BROWSER"] = "1" if browser.REQUIRED else ""
    command = [str(project_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    browser_run = {"database": DATABASE, **SUITES_ON[DATABASE][0]}
    if options != browser_run:
        for test in ONCE_PER_DATABASE:
            command += ["--deselect", test]
        if options["include_example_apps"]:
            command += ["--deselect", BROWSER_TESTS]
    result = run(command, cwd=project, env=clean_environment(**extra))
    assert re.search(r"\d+ passed", result.stdout), result.stdout
    assert " failed" not in result.stdout
    skipped = re.findall(r"^SKIPPED \[\d+\] (.*)$", result.stdout, re.MULTILINE)
    assert all(LACKING_BROWSER.search(reason) for reason in skipped), result.stdout
    assert not (skipped and browser.REQUIRED)


# Bad answers -----------------------------------------------------------------------

BAD_ANSWERS = [
    ({"project": "my-shop"}, "project 'my-shop' is not a valid Python package name: "
     "type project=my_shop instead."),
    ({"project": "2fast"}, "project '2fast' is not a valid Python package name: "
     "type project=project_2fast instead."),
    ({"project": "class"}, "project 'class' is a Python keyword: "
     "type project=class_project instead."),
    ({"project": "MyShop"}, "project 'MyShop' must be lowercase (PEP 8): "
     "type project=myshop instead."),
    ({"project": "django"}, "project 'django' would shadow the module 'django' that "
     "the project or its tools import: type project=django_project instead."),
    ({"project": "typing"}, "project 'typing' would shadow the module 'typing'"),
    ({"project": "tests"}, "project 'tests' would shadow the module 'tests'"),
    ({"project": "revy"}, "project 'revy' would shadow the module 'revy'"),
    ({"project": "config"}, "project 'config' would shadow the module 'config'"),
    ({"project": "_private"}, "project '_private' must not start with an underscore"),
    ({"project": "a" * 41}, f"project '{'a' * 41}' is longer than 40 characters: "
     f"type project={'a' * 40} instead."),
    ({"project_name": "   "}, "The project name is empty"),
    ({"description": "two\nlines"}, "The description must be one line"),
    ({"project_name": "App\\Nexus"}, "The project name goes into Python docstrings"),
    ({"project_name": 'A """ B'}, "The project name goes into Python docstrings"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answers", "message"),
    BAD_ANSWERS,
    ids=[f"{next(iter(a))}={next(iter(a.values()))!r}"[:40] for a, _ in BAD_ANSWERS],
)
def test_a_bad_answer_fails_clearly_and_leaves_nothing(
    template_copy, config_file, tmp_path, monkeypatch, capfd, answers, message
):
    # A temporary folder of the test's own, to see what cookiecutter leaves.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    output = tmp_path / "out"

    with pytest.raises(FailedHookException):
        bake(template_copy, output, config_file, **answers)

    errors = [line for line in capfd.readouterr().err.splitlines() if "ERROR" in line]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"ERROR: {message}"), errors[0]
    assert list(output.iterdir()) == []
    assert list(scratch.iterdir()) == []


def test_an_unknown_database_is_refused_before_anything_is_written(
    template_copy, config_file, tmp_path
):
    with pytest.raises(ValueError, match="oracle provided for choice variable"):
        bake(template_copy, tmp_path / "out", config_file, database="oracle")
    assert list((tmp_path / "out").iterdir()) == []


# The documented extension path: a field added to Revision, then makemigrations ------

NEW_FIELD = '    ticket = models.CharField(max_length=32, blank=True, default="")\n'


@walk_through
def test_a_field_added_to_revision_and_its_migration_keep_the_project_green(
    template_copy, config_file, project_python, tmp_path
):
    project = bake(template_copy, tmp_path, config_file, project="extended")
    models = project / "extended" / "revisions" / "models.py"
    anchor = '    path = models.CharField(max_length=2048, blank=True, default="")\n'
    assert anchor in models.read_text()
    models.write_text(models.read_text().replace(anchor, anchor + NEW_FIELD))
    env = clean_environment(DJANGO_ENV_FILE="", DJANGO_SECRET_KEY="k" * 50)
    python = str(project_python)

    # What Django writes by itself is not what the project's lint accepts...
    raw = run(
        [python, "manage.py", "makemigrations", "--dry-run", "-v", "3"],
        cwd=project,
        env=env,
    ).stdout
    raw_migration = tmp_path / "raw_migration.py"
    raw_migration.write_text(raw[raw.index("# Generated by Django") :])
    formatted = subprocess.run(
        [python, "-m", "ruff", "format", "--check", "--no-cache", str(raw_migration)],
        cwd=project,
        capture_output=True,
    )
    assert formatted.returncode == 1

    # ... while the project's makemigrations leaves lint, checks and suite green.
    run([python, "manage.py", "makemigrations"], cwd=project, env=env)
    written = (
        project / "extended" / "revisions" / "migrations" / "0003_revision_ticket.py"
    )
    assert '"ticket"' in written.read_text()
    assert_still_green(project, python, env)


def assert_still_green(project, python, env):
    """The project's lint, checks, migrations and own suite pass."""
    run([python, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
    run([python, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=project)
    run([python, "manage.py", "check"], cwd=project, env=env)
    result = run(
        [python, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=project,
        env=env,
    )
    assert "No changes detected" in result.stdout
    result = run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=clean_environment(),
    )
    assert re.search(r"\d+ passed", result.stdout) and " failed" not in result.stdout


# The documented rename of a tracked field: makemigrations writes RenameTrackedField --

RENAMED_IN = {
    "blog/models.py": ("    body = models.TextField", "    content = models.TextField"),
    "blog/admin.py": ('"body"', '"content"'),
    "api/serializers.py": ('"body"', '"content"'),
    "demo/scenario.py": ("body=", "content="),
}


@walk_through
def test_a_field_renamed_as_the_readme_says_keeps_the_project_green(
    template_copy, config_file, project_python, tmp_path
):
    project = bake(template_copy, tmp_path, config_file, project="renamed")
    readme = (project / "README.md").read_text()
    # 1. The field, and where the code uses it.
    for path, (old, new) in RENAMED_IN.items():
        source = project / "renamed" / path
        assert old in source.read_text(), path
        source.write_text(source.read_text().replace(old, new))
    tests = project / "tests" / "test_api.py"
    tests.write_text(tests.read_text().replace('"body"', '"content"'))
    env = clean_environment(DJANGO_ENV_FILE="", DJANGO_SECRET_KEY="k" * 50)
    python = str(project_python)

    # 2. makemigrations asks whether the field was renamed: yes.
    subprocess.run(
        [python, "manage.py", "makemigrations"],
        cwd=project,
        env=env,
        input="y\n",
        text=True,
        check=True,
        capture_output=True,
    )
    written = (
        project / "renamed" / "blog" / "migrations" / "0002_rename_body_post_content.py"
    )

    # 3. It wrote revy's operation and the dependencies, as the README shows
    # them (after the line that dates it).
    start = readme.index("   ```python\n   import revy.contrib.django.operations")
    end = readme.index("   ```\n", start + 10)
    example = "\n".join(line[3:] for line in readme[start:end].splitlines()[1:])
    source = written.read_text()
    assert source.startswith("# Generated by Django")
    assert source.split("\n", 2)[2] == example + "\n"

    # 4. make test: lint, checks, migrations and the suite stay green.
    assert_still_green(project, python, env)
