"""URLs of {{ cookiecutter.project_name }}."""

from django.contrib import admin
from django.urls import include, path

from {{ cookiecutter.project }} import health

admin.site.site_header = {{ cookiecutter.project_name|jsonify }}
admin.site.site_title = {{ cookiecutter.project_name|jsonify }}

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("account/", include("{{ cookiecutter.project }}.accounts.urls")),
{%- if cookiecutter.api %}
    path("api/", include("{{ cookiecutter.project }}.api.urls")),
{%- endif %}
{%- if cookiecutter.include_example_apps %}
    path("blog/", include("{{ cookiecutter.project }}.blog.urls")),
    path("invoices/", include("{{ cookiecutter.project }}.invoices.urls")),
    path("reviews/", include("{{ cookiecutter.project }}.reviews.urls")),
{%- endif %}
    path("", include("{{ cookiecutter.project }}.revisions.urls")),
]

# A database that went away gets the 503 page (errors.py), not a traceback.
handler500 = "{{ cookiecutter.project }}.errors.server_error"
