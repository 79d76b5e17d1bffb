from functools import lru_cache

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, QuerySet, Window
from django.db.models.query import ModelIterable
from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.utils import urls


# DRF's link helpers split the URL, parse and sort its query and encode it again: on a page of the
# inbox or of activities, about a twentieth of the request. Clients ask for the same few URLs
# (the first page, mostly), so the answers are kept per process; the bound holds the memory of
# any URLs a client invents.
@lru_cache(maxsize=512)
def replace_query_param(url: str, key: str, value: object) -> str:
    """`rest_framework.utils.urls.replace_query_param`, its answers kept."""
    return urls.replace_query_param(url, key, value)


@lru_cache(maxsize=512)
def remove_query_param(url: str, key: str) -> str:
    """`rest_framework.utils.urls.remove_query_param`, its answers kept."""
    return urls.remove_query_param(url, key)


TOTAL = "_page_total"
# No list of the administrative tree has this many pages; larger numbers are past the end.
MAX_PAGE = 2**31
DEFAULT_PAGE_SIZE = 20


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`, M capped at 100 (API.md). Links use the forwarded host behind nginx."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        # DRF answers None only when no page size is set at all; one always is here.
        return super().get_page_size(request) or DEFAULT_PAGE_SIZE

    # DRF's own two, with the link helpers above; called once a page and its request are set.
    def get_next_link(self) -> str | None:
        page, request = self.page, self.request
        assert page is not None and request is not None  # for the type checker
        if not page.has_next():
            return None
        return replace_query_param(request.build_absolute_uri(), self.page_query_param, page.next_page_number())

    def get_previous_link(self) -> str | None:
        page, request = self.page, self.request
        assert page is not None and request is not None  # for the type checker
        if not page.has_previous():
            return None
        url, number = request.build_absolute_uri(), page.previous_page_number()
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)


class CountInPagePaginator(Paginator):
    """Reads the total with the page, `COUNT(*) OVER ()`, instead of a `COUNT(*)` query before it.

    One statement fewer per page. PostgreSQL computes the window over every matching row before the
    LIMIT, so this is for lists that stay small (the administrative tree: a city's streets,
    communities, grids), not for those that grow with use, where an index can serve the page's
    LIMIT without reading the rest. A page past the end (no rows) is decided by the count query, as
    Django's paginator decides it; querysets the window would count wrongly (DISTINCT, GROUP BY,
    unions, dictionaries) take the ordinary path.
    """

    def _counts_in_page(self) -> bool:
        rows = self.object_list
        if not isinstance(rows, QuerySet) or "count" in self.__dict__ or self.orphans:
            return False
        query = rows.query
        return (
            rows._iterable_class is ModelIterable
            and not query.distinct
            and not query.combinator
            and query.group_by is None
            and not query.is_sliced
        )

    def page(self, number):
        objects = self.object_list
        if not isinstance(objects, QuerySet) or not self._counts_in_page():
            return super().page(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number > MAX_PAGE:
            # Django's paginator checks a page against the count before reading it; here the OFFSET is
            # sent first, and one past a 64-bit integer is a database error, not an empty page.
            raise EmptyPage(self.error_messages["no_results"])
        bottom = (number - 1) * self.per_page
        rows = list(objects.annotate(**{TOTAL: Window(Count("*"))})[bottom : bottom + self.per_page])
        if not rows:
            return super().page(number)
        self.count = getattr(rows[0], TOTAL)
        return self._get_page(rows, number, self)  # type: ignore[attr-defined]  # Paginator's own hook, unstubbed


class SmallListPagination(PageNumberPagination):
    """The same pages, their total read with the rows (CountInPagePaginator): for small lists."""

    django_paginator_class = CountInPagePaginator
