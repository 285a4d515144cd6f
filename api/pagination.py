from django.conf import settings
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """?page=N&page_size=M; page_size is capped so no client can ask for the whole table."""

    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
