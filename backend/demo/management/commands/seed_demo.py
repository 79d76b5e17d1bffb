"""`manage.py seed_demo`: the demo map, and demo staff accounts on a development machine."""

from __future__ import annotations

import unicodedata

from django.core.management.base import BaseCommand

from backend.demo.services import SeedResult, seed_demo

KIND_LABELS = {
    "streets": "街道",
    "communities": "社区",
    "grids": "网格",
    "estates": "小区",
    "organizations": "党组织",
    "accounts": "演示账号",
}
STATUS_LABELS = {"created": "新建", "updated": "已更新", "existing": "已存在"}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(header: list[str], rows: list[list[str]]) -> str:
    # Chinese characters take two columns in a terminal, so pad by display width, not length.
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


class Command(BaseCommand):
    help = "创建演示数据: 资料中的街道、社区、网格、小区和党组织; DEBUG 开启时另建演示账号。可重复运行。"

    def handle(self, *args, **options) -> None:
        result = seed_demo()
        self._summary(result)
        if result.accounts_seeded:
            self._accounts(result)
        else:
            self.stdout.write(
                self.style.WARNING(
                    "DEBUG 未开启: 只创建了演示地图, 没有创建任何账号。"
                    "请用 manage.py create_staff 创建真实的工作人员账号。"
                )
            )

    def _summary(self, result: SeedResult) -> None:
        rows = [
            [KIND_LABELS[kind], str(t.created), str(t.updated), str(t.existing)]
            for kind, t in result.counts.items()
            if kind != "accounts" or result.accounts_seeded
        ]
        self.stdout.write(_table(["类别", "新建", "已更新", "已存在"], rows))
        self.stdout.write("")
        if result.changed:
            self.stdout.write(self.style.SUCCESS("演示数据已写入。"))
        else:
            self.stdout.write(self.style.SUCCESS("演示数据已是最新, 没有任何改动。"))

    def _accounts(self, result: SeedResult) -> None:
        rows = [
            [a.role.label, a.scope, a.real_name, a.phone, a.password, STATUS_LABELS[a.status]] for a in result.accounts
        ]
        self.stdout.write("")
        self.stdout.write("演示账号 (仅供本机演示, 密码固定写在 backend/demo/data.py 中, 切勿用于生产):")
        self.stdout.write(_table(["角色", "范围", "姓名", "手机号", "密码", "状态"], rows))
