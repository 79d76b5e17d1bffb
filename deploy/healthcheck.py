"""Container healthcheck: `python deploy/healthcheck.py PORT` → exit 0 when /healthz answers 200.

The request carries a Host that ALLOWED_HOSTS accepts (Django refuses 127.0.0.1 in production)
and the forwarded scheme nginx would send, so the answer is the one nginx would get.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def allowed_host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        headers={"Host": allowed_host(), "X-Forwarded-Proto": "https", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a fixed loopback URL
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthz: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
