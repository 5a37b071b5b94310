from typing import Any

from django.contrib.auth.models import update_last_login
from revy import Context


def update_last_login_untracked(sender: Any, user: Any, **kwargs: Any) -> None:
    """Django's update_last_login, with revy's tracking disabled."""
    with Context.as_disabled():
        update_last_login(sender, user, **kwargs)
