from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`, M capped at 100 (API.md). Links use the forwarded host behind nginx."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
