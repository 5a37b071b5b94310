"""Remove what the chosen options do not need, then say what to do next.

Runs in the generated project under cookiecutter's own Python: standard
library only (no Django here: the project's dependencies are not installed).
"""

import shutil
import tempfile
from pathlib import Path

PROJECT = {{ cookiecutter.project|jsonify }}
INCLUDE_EXAMPLE_APPS = {{ "True" if cookiecutter.include_example_apps else "False" }}
USE_ASYNC = {{ "True" if cookiecutter.use_async else "False" }}

EXAMPLES = [
    f"{PROJECT}/blog",
    f"{PROJECT}/invoices",
    f"{PROJECT}/demo",
    "tests/test_blog.py",
    "tests/test_invoices.py",
    "tests/test_demo.py",
]
ASYNC = [f"{PROJECT}/asgi.py", "tests/test_async.py"]


def remove(paths: list[str]) -> None:
    for path in map(Path, paths):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


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


def main() -> None:
    remove_this_script()
    if not INCLUDE_EXAMPLE_APPS:
        remove(EXAMPLES)
    if not USE_ASYNC:
        remove(ASYNC)
    print(
        f"\nCreated {Path.cwd()}.\n"
        f"Next: cd {Path.cwd().name} && make run   (then: make test)\n"
    )


if __name__ == "__main__":
    main()
