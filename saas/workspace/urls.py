from django.urls import path

from .apis import ProjectListCreateApi

urlpatterns = [
    path("projects/", ProjectListCreateApi.as_view(), name="project-list"),
]
