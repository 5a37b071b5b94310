"""Refuse answers that would give a broken project, before anything is written.

Each refusal is one line that says what to type instead; the non-zero exit
makes cookiecutter remove the project folder, so nothing is left on disk.
Runs under cookiecutter's own Python: standard library only.
"""

import keyword
import re
import shutil
import sys
import tempfile
from pathlib import Path

PROJECT_NAME = {{ cookiecutter.project_name|jsonify }}
PROJECT = {{ cookiecutter.project|jsonify }}
DESCRIPTION = {{ cookiecutter.description|jsonify }}
AUTHOR = {{ cookiecutter.author|jsonify }}
DATABASE = {{ cookiecutter.database|jsonify }}
DATABASES = ("sqlite", "postgresql", "mariadb")
MAX_LENGTH = 40
REPO_DIR = {{ cookiecutter._repo_dir|jsonify }}

# Top-level modules the generated project imports, or that its tools and
# layout claim: a package of the same name would shadow them.
TAKEN = {
    "asgiref",
    "config",
    "conftest",
    "dj_database_url",
    "django",
    "hatchling",
    "manage",
    "mysqldb",
    "pip",
    "psycopg",
    "psycopg2",
    "pytest",
    "pytest_django",
    "revy",
    "ruff",
    "settings",
    "setup",
    "setuptools",
    "site",
    "sqlparse",
    "stackholm",
    "test",
    "tests",
    "uvicorn",
}


def suggestion(value: str) -> str:
    """A package name close to ``value`` that passes every rule."""
    name = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
    if not name:
        return "my_project"
    if name[0].isdigit():
        name = f"project_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or shadows(name):
        name = f"{name}_project"
    return name


def shadows(name: str) -> bool:
    return name in TAKEN or name in sys.stdlib_module_names


def problem() -> str | None:
    """What is wrong with the answers, as one line; None if nothing is."""
    if not PROJECT_NAME.strip():
        return "The project name is empty: type a name such as 'My Project'."
    for label, value in (
        ("project name", PROJECT_NAME),
        ("description", DESCRIPTION),
        ("author", AUTHOR),
    ):
        if "\n" in value or "\r" in value:
            return f"The {label} must be one line: type it without line breaks."
    if "\\" in PROJECT_NAME or '"""' in PROJECT_NAME:
        return (
            "The project name goes into Python docstrings: "
            'type it without backslashes or """.'
        )
    if DATABASE not in DATABASES:
        return f"database {DATABASE!r} is not supported: choose one of {', '.join(DATABASES)}."
    project = PROJECT
    instead = f"type project={suggestion(project)} instead."
    if not project:
        return f"The package name (project) is empty: {instead}"
    if not project.isidentifier() or not project.isascii():
        return f"project {project!r} is not a valid Python package name: {instead}"
    if project != project.lower():
        return f"project {project!r} must be lowercase (PEP 8): {instead}"
    if keyword.iskeyword(project) or keyword.issoftkeyword(project):
        return f"project {project!r} is a Python keyword: {instead}"
    if len(project) > MAX_LENGTH:
        shorter = suggestion(project)[:MAX_LENGTH].rstrip("_")
        return f"project {project!r} is longer than {MAX_LENGTH} characters: type project={shorter} instead."
    if project.startswith("_"):
        return f"project {project!r} must not start with an underscore: {instead}"
    if shadows(project):
        return (
            f"project {project!r} would shadow the module {project!r} that the "
            f"project or its tools import: {instead}"
        )
    return None


def remove_temporary_copy() -> None:
    """Remove cookiecutter's temporary copy of the repository, if this is one.

    hooks/pre_prompt.py makes cookiecutter copy the repository to a temporary
    folder; cookiecutter removes that copy when generation succeeds but not
    when a hook fails. Only that copy is removed: a folder named
    cookiecutter* right inside the temporary directory.
    """
    repo = Path(REPO_DIR).resolve()
    holder = repo.parent
    if (
        holder.parent == Path(tempfile.gettempdir()).resolve()
        and holder.name.startswith("cookiecutter")
        and (repo / "cookiecutter.json").is_file()
        and not (repo / "template").exists()
    ):
        shutil.rmtree(holder, ignore_errors=True)


def remove_this_script() -> None:
    """Cookiecutter runs a rendered copy of each hook from a temporary file
    (tmp*.py) that it never removes: remove it, and only it."""
    script = Path(__file__).resolve()
    if (
        script.parent == Path(tempfile.gettempdir()).resolve()
        and script.name.startswith("tmp")
        and script.suffix == ".py"
    ):
        script.unlink(missing_ok=True)


def main() -> int:
    remove_this_script()
    found = problem()
    if found is None:
        return 0
    print(f"ERROR: {found}", file=sys.stderr)
    remove_temporary_copy()
    return 1


if __name__ == "__main__":
    sys.exit(main())
