from django.urls import path

from {{ cookiecutter.project }}.accounts import views

app_name = "accounts"

urlpatterns = [
    path("close/", views.close, name="close"),
{%- if cookiecutter.use_async %}
    path("whoami/", views.whoami, name="whoami"),
{%- endif %}
]
