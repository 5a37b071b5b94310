"""A small REST framework API over the test app, behind RevyMiddleware: the
views of tests/test_api_*.py (see tests/api/urls.py)."""

from django.http import JsonResponse
from rest_framework import serializers, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.pagination import PageNumberPagination
from rest_framework_simplejwt.authentication import JWTAuthentication

from revy import Context
from revy.contrib.rest_framework import RevyViewSetMixin
from tests.api.tasks import detect_spam
from tests.testapp.models import Comment, Invoice


class Pages(PageNumberPagination):
    page_size = 5


class CommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Comment
        fields = ["id", "text", "is_marked_as_spam"]


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["id", "amount", "exchange_rate", "local_amount"]
        read_only_fields = ["local_amount"]


class CommentViewSet(RevyViewSetMixin, viewsets.ModelViewSet):
    queryset = Comment.objects.order_by("pk")
    serializer_class = CommentSerializer
    pagination_class = Pages
    authentication_classes = [
        TokenAuthentication,
        JWTAuthentication,
        SessionAuthentication,
    ]


class MaskedCommentViewSet(CommentViewSet):
    history_masked_fields = ("text",)


class PlainCommentViewSet(viewsets.ModelViewSet):
    """A viewset without revy's mixin: the actor is credited all the same."""

    queryset = Comment.objects.order_by("pk")
    serializer_class = CommentSerializer


class InvoiceViewSet(RevyViewSetMixin, viewsets.ModelViewSet):
    """Part of each write is the system's, as in the seed's example."""

    queryset = Invoice.objects.order_by("pk")
    serializer_class = InvoiceSerializer

    def perform_create(self, serializer):
        self.perform_update(serializer)

    def perform_update(self, serializer):
        invoice = serializer.instance or Invoice()
        for name, value in serializer.validated_data.items():
            setattr(invoice, name, value)
        with (
            Context.via_actor(None),
            Context.via_attribute_delta_description("Converted"),
        ):
            invoice.local_amount = invoice.amount * invoice.exchange_rate
        invoice.save()
        serializer.instance = invoice


def comment_and_check(request):
    """A plain Django view that enqueues a task at commit (Django's tasks)."""
    comment = Comment.objects.create(text=request.POST["text"])
    detect_spam.enqueue_on_commit(comment.pk)
    return JsonResponse({"pk": comment.pk})


async def token_comments(request):
    """An async Django view that authenticates a token itself, after every
    middleware, and writes."""
    key = request.headers.get("Authorization", "").removeprefix("Token ")
    token = await Token.objects.select_related("user").filter(key=key).afirst()
    if token is not None:
        request.user = token.user
    comment = await Comment.objects.acreate(text=request.POST["text"])
    return JsonResponse({"pk": comment.pk})
