"""The console's lists take only the query parameters they offer (docs/console.md, "Lists")."""

from __future__ import annotations

from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import IncorrectLookupParameters
from unfold.views import ChangeList as UnfoldChangeList


class DeclaredFiltersChangeList(UnfoldChangeList):
    """A list that takes only the query parameters its admin offers: the list filters, the search box
    (`q`), the date bar, ordering, pages, popups, and the admin's `url_filters` (links of its own).

    Django applies any other `?column__lookup=value` to the rows as well: a list that shows a phone
    masked still answered `?phone__startswith=139` with or without the row, and so rebuilt the
    phone digit by digit. An undeclared parameter is refused the way Django refuses a wrong lookup
    (IncorrectLookupParameters: back to the bare list), the same for a right guess and a wrong one.
    """

    def get_filters(self, request):
        # What the filters and the date bar do not consume, or produce (the date bar's bounds),
        # is left over; only a leftover the request itself sent is undeclared.
        sent = set(self.get_filters_params())
        try:
            filters = super().get_filters(request)
        except DisallowedModelAdminLookup as exc:
            # Django's check of related lookups is a 400; refused here like any undeclared lookup.
            raise IncorrectLookupParameters(exc) from exc
        remaining = filters[2]
        allowed = set(getattr(self.model_admin, "url_filters", ()))
        undeclared = sorted(key for key in remaining if key in sent and key not in allowed)
        if undeclared:
            raise IncorrectLookupParameters(f"not a filter of this list: {', '.join(undeclared)}")
        return filters
