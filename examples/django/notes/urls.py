from django.urls import path

from . import views

urlpatterns = [
    path("", views.notes),
    path("<int:pk>/", views.note),
]
