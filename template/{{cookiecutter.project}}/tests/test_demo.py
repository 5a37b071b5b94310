"""The demo scenario runs every example and prints their history."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from revy.contrib.django.proposals import get_proposal_model

from {{ cookiecutter.project }}.revisions.models import Revision


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


# Committed: the comment's spam check is enqueued at commit and run by a worker.
@pytest.mark.django_db(transaction=True)
def test_the_demo_prints_the_history_of_every_example(monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-password")
    output = run_demo()

    for text in (
        "“Detected by the system.”",
        "“Second delivery added.”",
        "Corrected by the system. (by system)",
        "organization Acme Ltd",
{%- if cookiecutter.api %}
        "POST /api/comments/",
{%- endif %}
        " / Task: ",
        "The account has been closed at the owner's request.",
        "Deleted because the owner's account has been closed.",
        "Restore of the account of user",
        "“Exchange rates updated.”",
        "request ",
        "from 127.0.0.1",
        "amount was Decimal('200.00') when proposed, is Decimal('150.00') now",
        "   applied as revision ",
    ):
        assert text in output, text
    assert output.rstrip().endswith("Admin login: admin / demo-password")
    proposal = get_proposal_model().objects.get()
    assert (proposal.status, proposal.revision.description) == (
        "applied",
        f"Annual contract signed. (proposal {proposal.pk}, approved)",
    )
    assert [m.subject for m in mail.outbox] == [
        f"Proposal {proposal.pk} approved: Annual contract signed."
    ]
    descriptions = list(Revision.objects.order_by("pk").values_list("description", flat=True))
{%- if cookiecutter.api %}
    commented = "Alice comments over the API."
{%- else %}
    commented = "Alice comments on Bob's post."
{%- endif %}
    checked = descriptions.pop(8)
    assert checked.startswith(f"{commented}\n\nTask: ")
    assert checked.endswith(f"Enqueued-in-revision: {Revision.objects.order_by('pk')[7].pk}")
    assert descriptions == [
        "Demo data.",
        "Bob writes a post.",
        "Alice writes and comments.",
        "Bob comments.",
        "A visitor comments.",
        "Acme's invoice arrives.",
        "Detected by the system.",
        commented,
        "Second delivery added.",
        "Bob closes his account.",
        f"Restore of the account of user {get_user_model().objects.get(username='bob').pk}",
        "Exchange rates updated.",
        "Annual contract signed.",
        "Credit note applied.",
        f"Proposal {proposal.pk} rebased.",
        f"Annual contract signed. (proposal {proposal.pk}, approved)",
    ]


@pytest.mark.django_db
def test_the_demo_needs_an_empty_database(alice):
    with pytest.raises(CommandError, match="needs an empty database"):
        run_demo()
