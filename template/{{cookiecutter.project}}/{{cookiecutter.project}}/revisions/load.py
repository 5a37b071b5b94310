"""A bounded load check that verifies history (``manage.py load_check``).

Users sign in through the admin's login page and rename organisations
through the admin's change form, a share of them on the same few rows,
against a server on 127.0.0.1. Then the database is checked: every
successful write has its delta, credited to its user; no revision or delta
is orphaned; revy's state of each row equals the row; and the deltas of
each name form a chain (each old value is the new value before it).

A small driver on the standard library (threads and ``urllib``), not a
load tool: the check reads the database afterwards in the same process,
the tests run it with nothing more installed, and a few hundred requests
on 127.0.0.1 need no more than threads.
"""

import http.cookiejar
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from revy import Context
from revy.contrib.django import history

from {{ cookiecutter.project }}.accounts.models import Organization
from {{ cookiecutter.project }}.revisions.models import (
    AttributeDelta,
    ObjectDelta,
    Revision,
)

PASSWORD = "load-check-password"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
_SLUG = re.compile(r'name="slug" value="([^"]*)"')
SAVED = "was changed successfully"


@dataclass
class Outcome:
    """What the users did: their successful writes and the statuses seen."""

    writes: list[tuple[int, int, str]] = field(default_factory=list)  # user, org, name
    statuses: dict[int, int] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1


@dataclass
class Cast:
    """The users and organisations of a run."""

    prefix: str
    users: list[Any]
    own: list[int]  # each user's own organisation
    shared: list[int]


def prepare(users: int, shared: int, prefix: str) -> Cast:
    """Superusers ``<prefix>-0``.. with an organisation each, and ``shared``
    more, created as the system: their history begins with their creation."""
    user_model = get_user_model()
    with Context.via_actor(None):
        made = [
            user_model.objects.create_superuser(
                f"{prefix}-{n}", f"{prefix}-{n}@example.com", PASSWORD
            )
            for n in range(users)
        ]
        own = [
            Organization.objects.create(name=f"{prefix}-own-{n}", slug=f"{prefix}-own-{n}").pk
            for n in range(users)
        ]
        common = [
            Organization.objects.create(name=f"{prefix}-shared-{n}", slug=f"{prefix}-shared-{n}").pk
            for n in range(shared)
        ]
    return Cast(prefix, made, own, common)


class FormClient:
    """A signed-in browser of the admin's forms: cookies kept, statuses counted."""

    def __init__(self, base: str, outcome: Outcome) -> None:
        self.base, self.outcome = base, outcome
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.base + path, data=data)
        if data is not None:
            request.add_header("Referer", self.base + path)
        try:
            with self.opener.open(request, timeout=120) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode(errors="replace")
        self.outcome.saw(status)
        return status, body

    def form_of(self, path: str) -> dict[str, str]:
        status, page = self.request(path)
        if status != 200:
            return {}
        fields = dict(_HIDDEN.findall(page))
        slug = _SLUG.search(page)
        if slug:
            fields["slug"] = slug.group(1)
        return fields

    def sign_in(self, username: str) -> None:
        """Through the admin's login page, as a person would."""
        form = self.form_of("/admin/login/")
        form.update(username=username, password=PASSWORD)
        self.request("/admin/login/", form)


def _work(base: str, cast: Cast, user: int, writes: int, share: float, outcome: Outcome) -> None:
    client = FormClient(base, outcome)
    client.sign_in(f"{cast.prefix}-{user}")
    chance = random.Random(user)
    for n in range(writes):
        org = chance.choice(cast.shared) if chance.random() < share else cast.own[user]
        path = f"/admin/accounts/organization/{org}/change/"
        form = client.form_of(path)
        if "csrfmiddlewaretoken" not in form:
            continue
        name = f"{cast.prefix}-u{user}-{n}"
        status, page = client.request(path, {**form, "name": name})
        # The admin redirects to the list after a save and says so there; a
        # user signed out is sent to the login page instead, also with a 200.
        if status == 200 and SAVED in page:
            with outcome.lock:
                outcome.writes.append((user, org, name))


def drive(base: str, cast: Cast, writes: int, share: float) -> Outcome:
    """Each user in a thread of its own: sign in, then ``writes`` renames."""
    outcome = Outcome()
    threads = [
        threading.Thread(target=_work, args=(base, cast, user, writes, share, outcome))
        for user in range(len(cast.users))
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.monotonic() - started
    return outcome


def _name_deltas(org: int) -> list[tuple[Any, Any, str]]:
    """(old, new, actor id) of each rename of one organisation, in order."""
    return list(
        AttributeDelta.objects.filter(
            object_delta__content_type__model="organization",
            object_delta__content_id=str(org),
            field_name="name",
        )
        .order_by("object_delta__revision_id", "object_delta_id", "pk")
        .values_list("old_value", "new_value", "object_delta__actor_id")
    )


def verify(cast: Cast, outcome: Outcome) -> dict[str, int]:
    """The counts of everything that would make history wrong; all 0 is right."""
    orgs = cast.own + cast.shared
    deltas = {org: _name_deltas(org) for org in orgs}
    by_name = {new: actor for org in orgs for _, new, actor in deltas[org]}
    missing = wrong_actor = 0
    for user, _, name in outcome.writes:
        if name not in by_name:
            missing += 1
        elif by_name[name] != str(cast.users[user].pk):
            wrong_actor += 1
    breaks = sum(
        1
        for org in orgs
        for (_, previous, _), (old, _, _) in zip(deltas[org], deltas[org][1:], strict=False)
        if old != previous
    )
    unlike = sum(
        1
        for org in Organization.objects.filter(pk__in=orgs)
        if getattr(history.state_at(Organization, org.pk), "name", None) != org.name
    )
    orphans = (
        Revision.objects.filter(object_deltas__isnull=True).count()
        + ObjectDelta.objects.filter(action=ObjectDelta.ACTION_UPDATE)
        .filter(attribute_deltas__isnull=True)
        .count()
    )
    return {
        "server errors": sum(n for status, n in outcome.statuses.items() if status >= 500),
        "writes without history": missing,
        "orphans": orphans,
        "wrong actors": wrong_actor,
        "states unlike their rows": unlike,
        "breaks in the chain of deltas": breaks,
    }


def revisions_written_off(cast: Cast) -> int:
    """With recording off: the revisions of the run's organisations after
    their creation (none may be written; their creation was recorded)."""
    return (
        ObjectDelta.objects.filter(
            content_type__model="organization",
            content_id__in=[str(org) for org in cast.own + cast.shared],
        )
        .exclude(action=ObjectDelta.ACTION_CREATE)
        .values("revision")
        .distinct()
        .count()
    )
