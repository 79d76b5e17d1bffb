"""Files under MEDIA_ROOT leave only through short-lived signed links.

Uploads carry personal data (evidence of service, appeal photos, minutes' attachments) and so do
the 双报告 workbooks; `/media/` used to serve any of them to whoever knew or guessed a path. Now
every URL the project hands out for a stored file (`FieldFile.url`, through this storage) carries
an expiry and an HMAC of the file's name and that expiry, so a link reaches only those the API or
the console gave it to, which is exactly the callers in scope for the record it belongs to: the
selectors decide who sees a record, and its links go with it. Public images (brand logos,
published activity covers and passed photos) are public because the public endpoints hand out
their links. The expiry is rounded up to a whole LINK_STEP so that a list read twice gives the
same links, which the client may cache.

`serve` checks the link. Behind nginx (MEDIA_ACCEL_REDIRECT) it answers with `X-Accel-Redirect`
to the `internal` location that holds the files, so nginx sends them; without nginx it sends the
file itself.
"""

from __future__ import annotations

import mimetypes
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils._os import safe_join
from django.utils.crypto import constant_time_compare
from django.utils.encoding import iri_to_uri

LINK_SECONDS = 60 * 60
LINK_STEP = 10 * 60
# WeChat downloads an image for its check some time after it is asked: a day is its window.
WECHAT_LINK_SECONDS = 24 * 60 * 60
ACCEL_PREFIX = "/protected-media/"
_SALT = "backend.core.media"


def _signature(name: str, expires: int) -> str:
    return signing.Signer(salt=_SALT).signature(f"{name}\n{expires}")


def signed_query(name: str, *, lifetime: int = LINK_SECONDS, now: float | None = None) -> str:
    """`e=…&s=…` for the file `name` (as stored, relative to MEDIA_ROOT), good for at least `lifetime`."""
    moment = time.time() if now is None else now
    expires = (int(moment + lifetime) // LINK_STEP + 1) * LINK_STEP
    return urlencode({"e": expires, "s": _signature(name, expires)})


def link_is_valid(name: str, expires: str, signature: str, *, now: float | None = None) -> bool:
    if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return constant_time_compare(_signature(name, int(expires)), signature)


class SignedFileSystemStorage(FileSystemStorage):
    """The file system, whose URLs are signed links (see the module's docstring)."""

    def url(self, name: str | None) -> str:
        return f"{super().url(name)}?{signed_query(name or '')}"


def serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """A stored file for a valid link; 404 for anything else (as for a file that is not there)."""
    if not link_is_valid(path, request.GET.get("e", ""), request.GET.get("s", "")):
        raise Http404
    try:
        full = safe_join(str(settings.MEDIA_ROOT), path)
    except SuspiciousFileOperation:  # a path leaving MEDIA_ROOT
        raise Http404 from None
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if settings.MEDIA_ACCEL_REDIRECT:
        response: HttpResponseBase = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = iri_to_uri(ACCEL_PREFIX + path)
    else:
        try:
            response = FileResponse(open(full, "rb"), content_type=content_type)  # noqa: SIM115  # closed by the response
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise Http404 from None
    # The link is the credential: no shared cache keeps the file, the caller's may until it expires.
    response["Cache-Control"] = "private, max-age=600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
