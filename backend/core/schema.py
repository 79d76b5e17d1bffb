"""The schema documents every operation's error responses, in the one error format."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions, serializers

from .errors import STATUS_BY_CODE


class ErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(STATUS_BY_CODE), help_text="stable code to switch on")
    detail = serializers.CharField(help_text="human-readable text, zh-hans by default")
    # The error body's own `fields` key: it shadows Serializer.fields on purpose.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="per input field, for validation errors only",
    )

    class Meta:
        ref_name = "Error"


ERROR_DESCRIPTIONS = {
    "400": "invalid input (`validation_error` with `fields`, or a domain code)",
    "401": "`not_authenticated` or `token_invalid`",
    "403": "`permission_denied` (or a domain code)",
    "404": "`not_found`: does not exist or lies outside the caller's scope",
    "405": "`method_not_allowed`",
    "409": "the current state forbids it (`invalid_transition` and others)",
    "413": "`file_too_large`",
    "415": "`unsupported_media_type`",
    "429": "`throttled`",
    "500": "`server_error`",
    "503": "a service we depend on is unavailable",
}


class AutoSchema(SpectacularAutoSchema):
    # Views may list the extra statuses they can answer: `error_statuses = ("409", "503")`.
    def _error_statuses(self) -> list[str]:
        # A write whose body comes in a content type its parsers do not take is a 415.
        statuses = {"400", "405", "415", "429"} if self.method in ("POST", "PUT", "PATCH") else {"405", "429"}
        perms = self.view.get_permissions() if hasattr(self.view, "get_permissions") else []
        if not all(isinstance(p, permissions.AllowAny) for p in perms):
            statuses |= {"401", "403"}
        # A bad or expired token is refused (401) before the permissions are asked, public views included.
        if getattr(self.view, "authentication_classes", None):
            statuses.add("401")
        if "{" in self.path or self.method in ("PUT", "PATCH", "DELETE"):
            statuses.add("404")
        query = self._query_parameter_names()
        # Filters and paging parse their query parameters: a malformed value is a 400.
        if query:
            statuses.add("400")
        # A page past the last one is a 404 (DRF's page-number paging).
        if "page" in query:
            statuses.add("404")
        statuses |= set(getattr(self.view, "error_statuses", ()))
        return sorted(statuses)

    def _map_basic_serializer(self, serializer, direction):
        previous, self._direction = getattr(self, "_direction", None), direction
        try:
            return super()._map_basic_serializer(serializer, direction)
        finally:
            self._direction = previous

    def _insert_field_validators(self, field, schema):
        # A masked phone (139****0001) cannot match the pattern its input must: responses state none.
        if getattr(field, "masked_on_output", False) and getattr(self, "_direction", None) == "response":
            return
        super()._insert_field_validators(field, schema)

    def _query_parameter_names(self) -> set[str]:
        names: set[str] = set()
        for parameter in self._get_parameters():
            if isinstance(parameter, dict) and parameter.get("in") == "query":
                names.add(parameter.get("name", ""))
        return names

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSerializer, status, direction=direction)
                responses[status]["description"] = ERROR_DESCRIPTIONS.get(status, "error")
        return responses
