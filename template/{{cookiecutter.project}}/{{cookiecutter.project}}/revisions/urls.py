from django.urls import path

from {{ cookiecutter.project }}.revisions import views

app_name = "revisions"

urlpatterns = [
    path("", views.recent, name="recent"),
    path("history/<str:label>/<str:pk>/", views.object_history, name="object"),
]
