"""{{ cookiecutter.project_name }}: a Django project whose history revy records."""
