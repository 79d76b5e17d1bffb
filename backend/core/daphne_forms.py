"""Under daphne, form bodies are Django's to parse, so a malformed one answers in the error format.

Twisted's HTTP request (daphne's base) parses every multipart POST body itself before daphne sees
the request, and answers one it cannot parse with a bare `400 Bad Request` and no body. Daphne
never uses what Twisted parsed (it hands the raw body to Django), so Twisted's parsing is turned
off: DRF's parser then refuses the body with 400 `parse_error`, as under any other server.
"""

from __future__ import annotations

import sys


def leave_form_bodies_to_django() -> None:
    protocol = sys.modules.get("daphne.http_protocol")
    if protocol is None or getattr(protocol.WebRequest, "_forms_left_to_django", False):
        return  # not under daphne (tests, gunicorn), or done already
    original_init = protocol.WebRequest.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    protocol.WebRequest.__init__ = __init__
    protocol.WebRequest._forms_left_to_django = True
