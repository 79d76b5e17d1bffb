"""A WSGI application for tests/core/test_gunicorn_worker.py: answers, after `?sleep=S` seconds,
the id of the process that served the request."""

import os
import time
from urllib.parse import parse_qs


def application(environ, start_response):
    sleep = float(parse_qs(environ.get("QUERY_STRING", "")).get("sleep", ["0"])[0])
    time.sleep(sleep)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
