"""`manage.py fake_wechat --port 9800` (or `python -m devtools.fake_wechat`): the fake WeChat API server."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from devtools.fake_wechat import FakeWeChat


class Command(BaseCommand):
    help = (
        "Serve a fake WeChat API (code2Session, stable_token, phone numbers, subscribe messages, msg_sec_check, "
        "media_check_async with its pushes)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9800)
        parser.add_argument("--appid", default=None, help="defaults to WECHAT_APPID")
        parser.add_argument("--secret", default=None, help="defaults to WECHAT_SECRET")
        parser.add_argument(
            "--delay", type=float, default=0.0, help="seconds every call waits before it is answered (a slow WeChat)"
        )
        parser.add_argument(
            "--push-url",
            default="http://127.0.0.1:8000/api/v1/wechat/push/",
            help="our message endpoint, where image verdicts (wxa_media_check) are pushed",
        )
        parser.add_argument("--push-token", default=None, help="signs the pushes; defaults to WECHAT_PUSH_TOKEN")
        parser.add_argument("--push-delay", type=float, default=2.0, help="seconds before an image's verdict is pushed")

    def handle(
        self,
        *args,
        host: str,
        port: int,
        appid: str | None,
        secret: str | None,
        delay: float,
        push_url: str,
        push_token: str | None,
        push_delay: float,
        **options,
    ) -> None:
        fake = FakeWeChat(
            appid=appid,
            secret=secret,
            host=host,
            port=port,
            delay_seconds=delay,
            push_url=push_url or None,
            push_token=push_token,
            push_delay=push_delay,
        )
        self.stdout.write(
            f"Fake WeChat API on {fake.base_url} (appid {fake.appid}).\n"
            f"Start the server with WECHAT_API_BASE={fake.base_url} and the same WECHAT_APPID / WECHAT_SECRET;\n"
            f"image verdicts are pushed to {fake.push_url} after {push_delay:g} s.\n"
            "See docs/wechat.md for the codes it understands. Ctrl-C stops it."
        )
        try:
            fake.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopped")
