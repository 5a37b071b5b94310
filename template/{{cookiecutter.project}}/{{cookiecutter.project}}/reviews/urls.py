from django.urls import path

from {{ cookiecutter.project }}.reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/", views.proposal, name="proposal"),
    path("<int:pk>/act/", views.act, name="act"),
    path("<int:pk>/edit/", views.edit, name="edit"),
]
