"""The benchmark project's URLs: its admin site only."""

from django.urls import path

from benchmarks.admin import site

urlpatterns = [path("admin/", site.urls)]
