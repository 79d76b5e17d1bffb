from django.utils.deprecation import MiddlewareMixin


class MethodOverrideMiddleware(MiddlewareMixin):
    """`wx.request` cannot send PATCH: a POST with `X-HTTP-Method-Override: PATCH` is a PATCH.

    Only PATCH is honoured; anything else stays a POST, so the header cannot be used to turn a
    POST into a DELETE behind a proxy's back.
    """

    def process_request(self, request):
        if request.method == "POST":
            override = request.META.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").strip().upper()
            if override == "PATCH":
                request.method = "PATCH"
