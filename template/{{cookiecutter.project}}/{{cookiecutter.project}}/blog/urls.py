from django.urls import path

from {{ cookiecutter.project }}.blog import views

app_name = "blog"

urlpatterns = [
    path("posts/<int:pk>/comments/", views.comment, name="comment"),
]
