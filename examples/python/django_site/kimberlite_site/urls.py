from django.urls import path

from . import views

urlpatterns = [path("events", views.my_view)]
