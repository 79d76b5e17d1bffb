"""A small HTTP/1.1 load generator for when wrk is not installed: `python -m bench.load URL ...`.

Keep-alive connections on raw asyncio streams (an HTTP client library would spend more CPU per
request than the server we measure, on the same two cores). It sends a fixed number of requests
with a fixed concurrency, stops at a time cap whatever happens, and prints one JSON object.
Loopback only: anything else is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import socket
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values), max(1, math.ceil(len(sorted_values) * fraction)))
    return sorted_values[rank - 1]


class Plan:
    def __init__(self, *, url: str, method: str, headers: list[str], body: str | None, prefix: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise SystemExit("bench.load speaks plain http only")
        if not parts.hostname or not is_loopback(parts.hostname):
            raise SystemExit(f"refusing to load a non-loopback host: {parts.hostname!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.method = method.upper()
        self.body = body
        self.prefix = prefix
        head = [f"Host: {parts.netloc}", "Connection: keep-alive", "Accept: application/json"]
        head += headers
        if body is not None and not any(h.lower().startswith("content-type:") for h in headers):
            head.append("Content-Type: application/json")
        self.head = "\r\n".join(head)

    def request(self, index: int) -> bytes:
        if self.body is None:
            return f"{self.method} {self.path} HTTP/1.1\r\n{self.head}\r\n\r\n".encode()
        # `{n}` in the body becomes a value unique to this request, so inserts never collide.
        body = self.body.replace("{n}", f"{self.prefix}-{index}").encode()
        return (
            f"{self.method} {self.path} HTTP/1.1\r\n{self.head}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return its status and whether the connection may be reused."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    version, status_text = lines[0].split(b" ", 2)[:2]
    status = int(status_text)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    keep_alive = version == b"HTTP/1.1" and headers.get(b"connection") != b"close"
    if status in (204, 304) or 100 <= status < 200:
        return status, keep_alive
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        keep_alive = False
    return status, keep_alive


async def run(plan: Plan, *, requests: int, concurrency: int, time_cap: float) -> dict:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    issued = 0

    def next_index() -> int | None:
        nonlocal issued
        if issued >= requests:
            return None
        issued += 1
        return issued

    async def connection() -> None:
        reader = writer = None
        while (index := next_index()) is not None:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(plan.host, plan.port)
                    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                started = time.perf_counter()
                writer.write(plan.request(index))
                status, keep_alive = await read_response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[str(status)] += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                errors[type(exc).__name__] += 1
                keep_alive = False
            if not keep_alive and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(connection()) for _ in range(concurrency)]
    _, pending = await asyncio.wait(tasks, timeout=time_cap)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.perf_counter() - started
    latencies.sort()
    completed = len(latencies)
    ok = sum(count for status, count in statuses.items() if status.startswith("2"))
    return {
        "tool": "bench.load",
        "requests": completed,
        "ok": ok,
        "statuses": dict(statuses),
        "errors": dict(errors),
        "timed_out": bool(pending),
        "seconds": round(elapsed, 3),
        "rps": round(completed / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2) if latencies else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--body", help="request body; {n} is replaced by a unique value per request")
    parser.add_argument("--prefix", default="load", help="what unique values start with")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--time-cap", type=float, default=30.0, help="seconds; stops there even if unfinished")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 200_000 or not 1 <= args.concurrency <= 512 or not 0 < args.time_cap <= 300:
        parser.error("requests 1..200000, concurrency 1..512, time cap up to 300 s")
    plan = Plan(url=args.url, method=args.method, headers=args.header, body=args.body, prefix=args.prefix)
    result = asyncio.run(run(plan, requests=args.requests, concurrency=args.concurrency, time_cap=args.time_cap))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
