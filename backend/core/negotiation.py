"""DRF's content negotiation, its answers kept per process for the Accept headers clients send."""

from __future__ import annotations

import threading
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation

# The answer depends only on the Accept header, the format asked for and the view's renderers, and
# clients send few distinct headers (the mini-program one, browsers a handful). Parsing the header
# and matching it against each renderer was about a twentieth of a signed-in read's own work.
# The table is bounded in entries and in the header's length (a client can send any header: a long
# or new one is negotiated as DRF does, and a full table is emptied, not grown).
ANSWERS_MAX = 512
HEADER_MAX = 256


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> tuple[Any, str]:
        header = request.META.get("HTTP_ACCEPT")
        if header is not None and len(header) > HEADER_MAX:
            return super().select_renderer(request, renderers, format_suffix)
        wanted = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (header, wanted, tuple(type(renderer) for renderer in renderers))
        known = _answers.get(key)
        if known is not None:
            index, media_type = known
            return renderers[index], media_type
        # NotAcceptable and Http404 (an unknown format) propagate and are not kept.
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        for index, candidate in enumerate(renderers):
            if candidate is renderer:
                _answers.put(key, (index, media_type))
                break
        return renderer, media_type


class _Answers:
    def __init__(self, size: int) -> None:
        self.size = size
        self._answers: dict[tuple[Any, ...], tuple[int, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[int, str] | None:
        return self._answers.get(key)

    def put(self, key: tuple[Any, ...], answer: tuple[int, str]) -> None:
        with self._lock:
            if len(self._answers) >= self.size:
                self._answers.clear()
            self._answers[key] = answer

    def __len__(self) -> int:
        return len(self._answers)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


_answers = _Answers(ANSWERS_MAX)
