"""The SCIM service's routes, at /scim/v2/ on a tenant host (RFC 7644 names them without a
trailing slash)."""

from django.urls import path

from . import views

urlpatterns = [
    # Before the detail routes, whose ids they would match (not in the OpenAPI document).
    path(".search", views.ScimSearchApi.as_view(), name="scim-search-unsupported"),
    path("Users/.search", views.ScimSearchApi.as_view(), name="scim-search-unsupported-users"),
    path("Groups/.search", views.ScimSearchApi.as_view(), name="scim-search-unsupported-groups"),
    path("Users", views.ScimUsersApi.as_view(), name="scim-users"),
    path("Users/<str:user_id>", views.ScimUserDetailApi.as_view(), name="scim-user"),
    path("Groups", views.ScimGroupsApi.as_view(), name="scim-groups"),
    path("Groups/<str:group_id>", views.ScimGroupDetailApi.as_view(), name="scim-group"),
    path(
        "ServiceProviderConfig",
        views.ScimServiceProviderConfigApi.as_view(),
        name="scim-service-provider-config",
    ),
    path("ResourceTypes", views.ScimResourceTypesApi.as_view(), name="scim-resource-types"),
    path(
        "ResourceTypes/<str:name>",
        views.ScimResourceTypeDetailApi.as_view(),
        name="scim-resource-type",
    ),
    path("Schemas", views.ScimSchemasApi.as_view(), name="scim-schemas"),
    path("Schemas/<str:schema_id>", views.ScimSchemaDetailApi.as_view(), name="scim-schema"),
    # Last: any other path is RFC 7644's 404 (not in the OpenAPI document: no operation).
    path("<path:path>", views.ScimUnknownApi.as_view(), name="scim-unknown"),
]
