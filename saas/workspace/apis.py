from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from api.base import TenantApi
from api.docs import E402, ERRORS_READ, ERRORS_WRITE
from api.serializers import StrictSerializer

from .selectors import project_list
from .services import project_create


class ProjectOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProjectListCreateApi(TenantApi):
    capabilities = {"GET": Capability.RESOURCES_READ, "POST": Capability.RESOURCES_WRITE}

    class ProjectCreateInput(StrictSerializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(max_length=10_000, required=False, allow_blank=True)

    @extend_schema(
        tags=["projects"],
        summary="List projects",
        description="Projects of the organization whose host is called, newest first.",
        responses={200: ProjectOutput(many=True), **ERRORS_READ},
    )
    def get(self, request: Request) -> Response:
        return self.paginate(project_list(), ProjectOutput)

    @extend_schema(
        tags=["projects"],
        summary="Create a project",
        request=ProjectCreateInput,
        responses={201: ProjectOutput, **ERRORS_WRITE, **E402},
    )
    def post(self, request: Request) -> Response:
        data = self.validate(self.ProjectCreateInput, request)
        project = project_create(created_by=request.user, **data)  # type: ignore[arg-type]
        return Response(ProjectOutput(project).data, status=201)
