"""A baked project is ready to be a repository: a GitHub Actions workflow, a
pre-commit configuration, a Dockerfile and a compose file.

Nothing here needs docker or GitHub: for each database the files must parse,
name the database chosen (and no other), agree with each other, and run the
commands the project's README and Makefile give.
"""

import json
import re
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import yaml

from tests.baking import bake

DATABASES = ("sqlite", "postgresql", "mariadb")
IMAGES = {"postgresql": "postgres:", "mariadb": "mariadb:"}
SCHEMES = {"postgresql": "postgres", "mariadb": "mysql", "sqlite": "sqlite"}
PORTS = {"postgresql": 5432, "mariadb": 3306}


@pytest.fixture(scope="module")
def projects(template_copy, config_file, tmp_path_factory):
    return {
        database: bake(
            template_copy,
            tmp_path_factory.mktemp(database),
            config_file,
            project="ledger",
            database=database,
        )
        for database in DATABASES
    }


def readme_commands(project):
    """Every command the README shows: code spans and lines of code blocks."""
    text = (project / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    lines = [
        line.split("#")[0].strip() for block in blocks for line in block.splitlines()
    ]
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return {c for c in lines + spans if c}


def make_targets(project):
    return set(re.findall(r"^([\w-]+):", (project / "Makefile").read_text(), re.M))


def lint_commands(project):
    """The commands of the Makefile's lint target, without the virtualenv's path."""
    makefile = (project / "Makefile").read_text()
    recipe = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [line.strip().removeprefix("$(BIN)/") for line in recipe]


def workflow(project):
    data = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    # YAML 1.1 reads the key `on` as True.
    assert set(data.get("on", data.get(True))) == {"push", "pull_request", "schedule"}
    return data


@pytest.mark.parametrize("database", DATABASES)
def test_the_ci_workflow_runs_make_test_against_the_chosen_database(projects, database):
    project = projects[database]
    job = workflow(project)["jobs"]["test"]
    services = job.get("services", {})
    if database == "sqlite":
        assert services == {} and "DATABASE_URL" not in job.get("env", {})
    else:
        assert list(services) == [database]
        service = services[database]
        assert service["image"].startswith(IMAGES[database])
        assert service["ports"] == [f"{PORTS[database]}:{PORTS[database]}"]
        url = urlsplit(job["env"]["DATABASE_URL"])
        assert url.scheme == SCHEMES[database]
        assert (url.hostname, url.port) == ("127.0.0.1", PORTS[database])
        assert url.password in service["env"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[-2:] == ["python3 tools/revy_pin.py --portable", "make test"]
    assert ("libmariadb-dev" in " ".join(runs)) is (database == "mariadb")
    assert {"make test", "python3 tools/revy_pin.py --portable"} <= readme_commands(
        project
    )
    assert "test" in make_targets(project)
    uses = [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python"]


@pytest.mark.parametrize("database", DATABASES)
def test_the_ci_workflow_checks_the_starter_weekly_without_blocking(projects, database):
    project = projects[database]
    data = workflow(project)
    schedule = data.get("on", data.get(True))["schedule"]
    assert len(schedule) == 1
    minute, hour, day, month, weekday = schedule[0]["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit()  # once a week
    job = data["jobs"]["starter"]
    assert job["continue-on-error"] is True
    assert "services" not in job and "needs" not in job
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs == ["make check-starter"]
    assert {"check-starter", "update"} <= make_targets(project)
    assert {"make check-starter", "make update"} <= readme_commands(project)


@pytest.mark.parametrize("database", DATABASES)
def test_compose_and_the_dockerfile_run_the_readmes_commands_with_the_database(
    projects, database
):
    project = projects[database]
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    web = compose["services"]["web"]
    dockerfile = (project / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (.*)$", dockerfile, re.M).group(1))
    assert web["command"] == " ".join(cmd) == "make run HOST=0.0.0.0"
    commands = readme_commands(project)
    assert {
        "docker compose up",
        "docker compose run --rm web make test",
        "make run HOST=0.0.0.0",
    } <= commands
    assert {"run", "test", "install"} <= make_targets(project)
    assert "HOST ?=" in (project / "Makefile").read_text()
    assert re.search(
        r"^RUN python3 tools/revy_pin.py --portable && make install$", dockerfile, re.M
    )
    assert re.search(r"^FROM python:3\.1[1-9]", dockerfile, re.M)
    assert ("libmariadb-dev" in dockerfile) is (database == "mariadb")

    url = urlsplit(web["environment"]["DATABASE_URL"])
    assert url.scheme == SCHEMES[database]
    if database == "sqlite":
        assert set(compose["services"]) == {"web"}
        assert any(volume.endswith(":/data") for volume in web["volumes"])
        return
    assert set(compose["services"]) == {"web", "db"}
    db = compose["services"]["db"]
    assert db["image"].startswith(IMAGES[database])
    assert (url.hostname, url.port) == ("db", PORTS[database])
    assert web["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert url.path.lstrip("/") == "ledger" and "ledger" in db["environment"].values()
    assert url.password in db["environment"].values()
    assert db["healthcheck"]["test"]


@pytest.mark.parametrize("database", DATABASES)
def test_only_the_chosen_database_is_named(projects, database):
    project = projects[database]
    files = [".github/workflows/ci.yml", "compose.yaml", "Dockerfile"]
    text = "\n".join((project / name).read_text().lower() for name in files)
    for other in set(DATABASES) - {database, "sqlite"}:
        assert other not in text and IMAGES[other] not in text


def test_pre_commit_runs_the_lint_of_make_lint(projects):
    for project in projects.values():
        config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
        hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
        assert [hook["entry"] for hook in hooks] == lint_commands(project)
        assert lint_commands(project) == ["ruff check .", "ruff format --check ."]
        assert all(hook["pass_filenames"] is False for hook in hooks)
        assert "pre-commit install" in readme_commands(project)


def test_the_portability_check_refuses_a_path_and_accepts_a_release(projects, tmp_path):
    project = shutil.copytree(projects["sqlite"], tmp_path / "ledger")
    check = [sys.executable, "tools/revy_pin.py", "--portable"]
    refused = subprocess.run(check, cwd=project, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "make pin-revy TO=" in refused.stderr and "file:" in refused.stderr
    subprocess.run(
        [sys.executable, "tools/revy_pin.py", "2.0.0"], cwd=project, check=True
    )
    accepted = subprocess.run(check, cwd=project, capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stderr
