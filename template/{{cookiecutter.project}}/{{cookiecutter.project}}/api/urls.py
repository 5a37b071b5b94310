"""The REST API: a token per user (POST /api/token/ with username and
password){% if cookiecutter.include_example_apps %}, and the example apps' objects with their history
(GET .../<id>/history/) and revert (POST .../<id>/revert/){% endif %}."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter
{%- if cookiecutter.include_example_apps %}

from {{ cookiecutter.project }}.api.views import (
    CommentViewSet,
    InvoiceViewSet,
    PostViewSet,
)
{%- endif %}

app_name = "api"

router = DefaultRouter()
{%- if cookiecutter.include_example_apps %}
router.register("posts", PostViewSet, basename="post")
router.register("comments", CommentViewSet, basename="comment")
router.register("invoices", InvoiceViewSet, basename="invoice")
{%- endif %}

urlpatterns = [
    path("token/", obtain_auth_token, name="token"),
    path("", include(router.urls)),
]
