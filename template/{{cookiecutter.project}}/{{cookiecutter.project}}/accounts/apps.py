from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "{{ cookiecutter.project }}.accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth import user_logged_in
        from django.contrib.auth.models import update_last_login

        from {{ cookiecutter.project }}.accounts.signals import (
            update_last_login_untracked,
        )

        # A sign-in is not a change anyone needs in the history: Django's own
        # receiver is replaced by one that writes last_login untracked.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(
            update_last_login_untracked, dispatch_uid="update_last_login_untracked"
        )
