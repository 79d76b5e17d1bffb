"""`manage.py fake_wechat --port 9800`: the fake WeChat API server, for trying the login by hand."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from backend.core.fake_wechat import DEFAULT_APPID, DEFAULT_SECRET, FakeWeChat


class Command(BaseCommand):
    help = "Serve a fake WeChat API (code2Session, stable_token, phone numbers, subscribe messages, msg_sec_check)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9800)
        parser.add_argument("--appid", default=None, help="defaults to WECHAT_APPID (or the development appid)")
        parser.add_argument("--secret", default=None, help="defaults to WECHAT_SECRET (or the development secret)")
        parser.add_argument(
            "--delay", type=float, default=0.0, help="seconds every call waits before it is answered (a slow WeChat)"
        )

    def handle(
        self, *args, host: str, port: int, appid: str | None, secret: str | None, delay: float, **options
    ) -> None:
        fake = FakeWeChat(
            appid=appid or settings.WECHAT_APPID or DEFAULT_APPID,
            secret=secret or settings.WECHAT_SECRET or DEFAULT_SECRET,
            host=host,
            port=port,
            delay_seconds=delay,
        )
        self.stdout.write(
            f"Fake WeChat API on {fake.base_url} (appid {fake.appid}).\n"
            f"Start the server with WECHAT_API_BASE={fake.base_url} and the same WECHAT_APPID / WECHAT_SECRET;\n"
            "see docs/wechat.md for the codes it understands. Ctrl-C stops it."
        )
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopped")
