from django.urls import path

from {{ cookiecutter.project }}.invoices import views

app_name = "invoices"

urlpatterns = [
    path("<int:pk>/", views.update, name="update"),
]
