"""The example apps over the API, each with revy's history and revert
endpoints (RevyViewSetMixin).

Every write is credited to the user the token belongs to, or to the
organisation named by X-Perform-As-Organization (actors.py): RevyMiddleware
asks the resolvers once REST framework has authenticated the request.
"""

from typing import Any

from django.db.models import QuerySet
from rest_framework import permissions, status, viewsets
from rest_framework.response import Response
from revy import Context
from revy.contrib.rest_framework import RevyViewSetMixin

from {{ cookiecutter.project }}.accounts.models import Organization
from {{ cookiecutter.project }}.api.serializers import (
    CommentSerializer,
    InvoiceSerializer,
    PostSerializer,
)
from {{ cookiecutter.project }}.blog.models import Comment, Post
from {{ cookiecutter.project }}.blog.services import add_comment
from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.invoices.services import save_or_propose
from {{ cookiecutter.project }}.reviews.services import receipt


class IsAuthorOrReadOnly(permissions.BasePermission):
    """Anyone signed in reads; only the author changes or deletes."""

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or obj.author_id == request.user.pk


class PostViewSet(RevyViewSetMixin, viewsets.ModelViewSet):
    queryset = Post.objects.select_related("author")
    serializer_class = PostSerializer
    permission_classes = [permissions.IsAuthenticated, IsAuthorOrReadOnly]

    def perform_create(self, serializer: Any) -> None:
        serializer.save(author=self.request.user)


class CommentViewSet(RevyViewSetMixin, viewsets.ModelViewSet):
    queryset = Comment.objects.select_related("author")
    serializer_class = CommentSerializer
    permission_classes = [permissions.IsAuthenticated, IsAuthorOrReadOnly]

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = add_comment(data["post"], self.request.user, data["text"])


class InvoiceViewSet(RevyViewSetMixin, viewsets.ModelViewSet):
    """The invoices of the organisation acted for, else of the user's."""

    serializer_class = InvoiceSerializer
    http_method_names = ["get", "put", "patch", "head", "options", "post"]

    def get_queryset(self) -> QuerySet[Invoice]:
        actor = Context.get_actor()
        if isinstance(actor, Organization):
            return Invoice.objects.filter(organization=actor)
        return Invoice.objects.filter(organization__members=self.request.user)

    def perform_create(self, serializer: Any) -> None:
        self.permission_denied(self.request, message="Invoices arrive from the system.")

    def perform_update(self, serializer: Any) -> None:
        invoice = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(invoice, name, value)
        # The system corrects local_amount; a change that needs review is proposed.
        description = self.request.headers.get("X-Commit-Message", "")
        self.proposal = save_or_propose(self.request.user, invoice, description)

    def update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        self.proposal = None
        response = super().update(request, *args, **kwargs)
        if self.proposal is not None:  # Nothing changed: say where it waits.
            return Response(receipt(self.proposal), status=status.HTTP_202_ACCEPTED)
        return response
