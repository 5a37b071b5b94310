"""What the proposal tests share: the proposal model in use and a small
library of authors, books and labels."""

from revy.contrib.django.proposals import get_proposal_model
from tests.proposalapp.models import Author, Book, Label


def Proposal():  # noqa: N802 (reads as the model)
    return get_proposal_model()


def library():
    """An author with two books, and two labels: made outside any context."""
    author = Author.objects.create(name="Ann", email="ann@example.com")
    first = Book.objects.create(title="First", pages=100, author=author)
    second = Book.objects.create(title="Second", pages=200, author=author)
    fiction = Label.objects.create(name="fiction")
    poetry = Label.objects.create(name="poetry")
    return author, first, second, fiction, poetry


def fresh(obj):
    """``obj`` as its row holds it now."""
    return type(obj)._base_manager.get(pk=obj.pk)
