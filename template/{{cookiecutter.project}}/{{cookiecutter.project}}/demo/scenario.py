"""A scripted tour of the examples, on an empty database.

Each step is one of the seed README's examples, run the way the project
runs it: requests go through the real middleware (django.test.Client),
commands and tasks run as the system.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
{%- if cookiecutter.api %}
from rest_framework.authtoken.models import Token
{%- endif %}
from revy import Context
from revy.contrib.django.proposals import get_proposal_model

from {{ cookiecutter.project }}.accounts.models import Membership, Organization
from {{ cookiecutter.project }}.accounts.services import restore_account
from {{ cookiecutter.project }}.actors import ORGANIZATION_HEADER, system
from {{ cookiecutter.project }}.blog.models import Comment, Post
from {{ cookiecutter.project }}.blog.spam import detect_spam
from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.invoices.services import save_invoice
from {{ cookiecutter.project }}.invoices.tasks import refresh_exchange_rates
from {{ cookiecutter.project }}.reviews.models import Decision
from {{ cookiecutter.project }}.revisions import table

USER_AGENT = "revy-demo/1.0"


class ScenarioError(RuntimeError):
    """A step did not do what it should."""


def client_for(user: Any) -> Client:
    client = Client(HTTP_HOST="127.0.0.1", HTTP_USER_AGENT=USER_AGENT)
    client.force_login(user)
    return client


def expect(response: Any, status: int, what: str) -> None:
    if response.status_code != status:
        raise ScenarioError(
            f"{what}: expected HTTP {status}, got {response.status_code}: "
            f"{response.content[:300]!r}"
        )


def run(admin_password: str, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every step; return the objects made, by name."""
    User = get_user_model()
    if User.objects.exists():
        raise ScenarioError("The demo needs an empty database: remove db.sqlite3, then migrate.")

    say("1. The system creates the people, an organisation and their posts.")
    with system(), Context.via_revision_description("Demo data."):
        admin = User.objects.create_superuser("admin", "admin@example.com", admin_password)
        alice = User.objects.create_user("alice", "alice@example.com", "alice-password")
        bob = User.objects.create_user("bob", "bob@example.com", "bob-password")
        acme = Organization.objects.create(name="Acme Ltd", slug="acme")
        Membership.objects.create(organization=acme, user=alice)
    with Context.via(actor=bob, revision_description="Bob writes a post."):
        post = Post.objects.create(author=bob, title="Hello", body="My first post.")
    with Context.via(actor=alice, revision_description="Alice writes and comments."):
        notes = Post.objects.create(author=alice, title="Notes", body="Some notes.")
        Comment.objects.create(post=post, author=alice, text="Welcome, Bob!")
    with Context.via(actor=bob, revision_description="Bob comments."):
        Comment.objects.create(post=notes, author=bob, text="Nice notes.")
    with system(), Context.via_revision_description("A visitor comments."):
        spam = Comment.objects.create(
            post=notes, text="Cheap watches at https://a.example and https://b.example"
        )
    with system(), Context.via_revision_description("Acme's invoice arrives."):
        invoice = Invoice.objects.create(
            organization=acme,
            number="INV-001",
            currency="EUR",
            amount=Decimal("100.00"),
            exchange_rate=Decimal("1.100000"),
            local_amount=Decimal("110.00"),
        )

    say("2. The spam filter (a command: the system acts) marks a comment.")
    detect_spam()

{%- if cookiecutter.api %}
    say("3. Alice comments over the API with her token; a worker checks it for spam, as her.")
    api = Client(
        HTTP_HOST="127.0.0.1",
        HTTP_USER_AGENT=USER_AGENT,
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}",
    )
    response = api.post(
        reverse("api:comment-list"),
        {"post": post.pk, "text": "Cheap tickets, ask me!"},
        headers={"X-Commit-Message": "Alice comments over the API."},
    )
{%- else %}
    say("3. Alice comments; a worker checks it for spam, as her.")
    response = client_for(alice).post(
        reverse("blog:comment", args=[post.pk]),
        {"text": "Cheap tickets, ask me!"},
        headers={"X-Commit-Message": "Alice comments on Bob's post."},
    )
{%- endif %}
    expect(response, 201, "Commenting")
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    say("4. Alice, acting for Acme, changes the invoice; the system corrects it.")
    response = client_for(alice).post(
        reverse("invoices:update", args=[invoice.pk]),
        {"amount": "200.00", "exchange_rate": "1.100000", "local_amount": "110.00"},
        headers={ORGANIZATION_HEADER: "acme", "X-Commit-Message": "Second delivery added."},
    )
    expect(response, 200, "Updating the invoice")

    say("5. Bob closes his account: his post and its comments go with it.")
    response = client_for(bob).post(
        reverse("accounts:close"), headers={"X-Commit-Message": "Bob closes his account."}
    )
    expect(response, 200, "Closing the account")

    say("6. Support restores Bob's account from its snapshot.")
    with system():
        restore_account(bob.pk)

    say("7. A task refreshes exchange rates, stamping bookkeeping untracked.")
    refresh_exchange_rates({"EUR": Decimal("1.080000")})

    proposal = review_an_invoice_change(admin, alice, invoice, say)

    return {
        "admin": admin,
        "alice": alice,
        "bob": bob,
        "acme": acme,
        "post": post,
        "notes": notes,
        "spam": spam,
        "invoice": invoice,
        "proposal": proposal,
    }


def review_an_invoice_change(admin: Any, alice: Any, invoice: Invoice, say: Any) -> Any:
    """Steps 8 to 11: a change that needs review, through the review pages."""
    say(
        f"8. Alice raises the invoice above {settings.INVOICE_REVIEW_ABOVE}: "
        "her change is submitted for review, nothing changes yet."
    )
    response = client_for(alice).post(
        reverse("invoices:update", args=[invoice.pk]),
        {"amount": "20000.00", "exchange_rate": "1.080000", "local_amount": "0"},
        headers={"X-Commit-Message": "Annual contract signed."},
    )
    expect(response, 202, "Proposing the invoice change")
    proposal = get_proposal_model().objects.get(pk=response.json()["proposal"])

    say("9. Meanwhile the admin applies a credit note to the same invoice: a live change.")
    invoice.refresh_from_db()
    with Context.via(actor=admin, revision_description="Credit note applied."):
        invoice.amount = Decimal("150.00")
        save_invoice(invoice)
    for conflict in proposal.conflicts():
        say(f"   conflict: {conflict}")

    say("10. Alice rebases her proposal on today's values, keeping her amounts.")
    resolve = {f"resolve-{n}": "proposed" for n, _ in enumerate(proposal.conflicts())}
    response = client_for(alice).post(
        reverse("reviews:act", args=[proposal.pk]), {"action": "rebase", **resolve}
    )
    expect(response, 302, "Rebasing the proposal")

    say("11. The admin, a reviewer, approves it: it is applied as one revision.")
    response = client_for(admin).post(
        reverse("reviews:act", args=[proposal.pk]), {"action": "approve"}
    )
    expect(response, 302, "Approving the proposal")
    proposal.refresh_from_db()
    for decision in Decision.objects.filter(proposal=proposal):
        say(f"   {decision.at:%H:%M:%S} {decision.get_action_display()} by {decision.actor}")
    say(f"   applied as revision {proposal.revision_id}; the invoice's history:")
    say(table.history_of(Invoice, invoice.pk))
    return proposal
