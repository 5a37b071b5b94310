"""URLs of tests/api/views.py: ``override_settings(ROOT_URLCONF="tests.api.urls")``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from tests.api import views

router = DefaultRouter()
router.register("comments", views.CommentViewSet, basename="comment")
router.register("masked-comments", views.MaskedCommentViewSet, basename="masked")
router.register("plain-comments", views.PlainCommentViewSet, basename="plain")
router.register("invoices", views.InvoiceViewSet, basename="invoice")

urlpatterns = [
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("token-comments/", views.token_comments),
    path("comment-and-check/", views.comment_and_check),
]
