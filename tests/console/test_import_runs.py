"""Every import run leaves a row (console.ImportRun) with its errors by row and column, written through
console.services; the 工作台's 待办 counts the kinds whose latest run into a place had errors and no
later clean run, and links to her runs with their errors. Scoped like everything else."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backend.console import services
from backend.console.models import ImportRun
from backend.core.errors import DomainError
from tests import factories

from .test_imports import payload, upload
from .test_workbench import todo_counts, todo_links

pytestmark = pytest.mark.django_db

ESTATES = ["小区名称", "户数", "有无物业"]
BAD_ESTATES = [ESTATES, ["东湖雅苑", 320, "有"], ["", "很多", "也许"], ["天润小区", -3, ""]]
GOOD_ESTATES = [ESTATES, ["东湖雅苑", 320, "有"], ["天润小区", 80, "无"]]


def _todo(client, user) -> int | None:
    client.force_login(user)
    return todo_counts(client.get(reverse("admin:index")).content.decode()).get("imports")


def test_a_preview_with_bad_rows_is_recorded_by_row_and_column(client, places):
    client.force_login(places.secretary)
    upload(client, "estates", places.home, BAD_ESTATES)
    run = ImportRun.objects.get()
    assert (run.kind, run.community, run.street, run.by) == ("estates", places.home, places.street, places.secretary)
    assert (run.file_name, run.saved, run.rows, run.rows_applied, run.error_rows) == ("台账.xlsx", False, 3, 0, 2)
    assert run.errors == [
        {"row": 3, "column": "小区名称", "message": "必填"},
        {"row": 3, "column": "户数", "message": "应为整数"},
        {"row": 3, "column": "有无物业", "message": "请填写 是 或 否"},
        {"row": 4, "column": "户数", "message": "不能为负数"},
    ]
    assert run.error_count == 4
    # Row, column and message: none of the good row's cells is kept.
    assert "东湖雅苑" not in str(run.errors)


def test_the_workbench_counts_it_until_a_clean_run_of_the_kind(client, places):
    client.force_login(places.secretary)
    assert _todo(client, places.secretary) == 0
    upload(client, "estates", places.home, BAD_ESTATES)
    upload(client, "estates", places.home, BAD_ESTATES)  # the same sheet again: still one kind
    assert _todo(client, places.secretary) == 1

    link = todo_links(client.get(reverse("admin:index")).content.decode())["imports"]
    listed = client.get(link)
    assert listed.status_code == 200
    assert [run.pk for run in listed.context["cl"].result_list] == [ImportRun.objects.latest("id").pk]
    page = listed.content.decode()
    assert "第 3 行 小区名称: 必填" in page and "另有 1 条" in page and "导入小区" in page
    run = ImportRun.objects.latest("id")
    detail = client.get(reverse("admin:console_importrun_change", args=[run.pk])).content.decode()
    assert "第 4 行 户数: 不能为负数" in detail

    preview = upload(client, "estates", places.home, GOOD_ESTATES)
    assert _todo(client, places.secretary) == 0
    client.post(reverse("console-import", args=["estates"]), {"payload": payload(preview)})
    saved = ImportRun.objects.latest("id")
    assert (saved.saved, saved.rows, saved.rows_applied, saved.errors) == (True, 2, 2, [])
    assert _todo(client, places.secretary) == 0


def test_another_kind_or_place_does_not_settle_it(client, places):
    client.force_login(places.secretary)
    upload(client, "estates", places.home, BAD_ESTATES)
    upload(client, "residents-committees", places.home, [["任期开始"], ["2024-01-01"]])
    assert _todo(client, places.secretary) == 2
    # The street admin: a clean sheet for the neighbour does not settle the home community's.
    client.force_login(places.street_admin)
    upload(client, "estates", places.neighbour, GOOD_ESTATES)
    assert _todo(client, places.street_admin) == 2


def test_a_file_that_cannot_be_read_is_a_run_with_an_error(client, places):
    client.force_login(places.secretary)
    upload(client, "estates", places.home, [["名称不对"], ["东湖雅苑"]])
    run = ImportRun.objects.get()
    assert run.rows == 0 and run.errors == [
        {"row": None, "column": "", "message": "第一行缺少列: 小区名称(请使用模板)"}
    ]
    assert _todo(client, places.secretary) == 1


def test_scoped_like_everything_else(client, places):
    client.force_login(places.secretary)
    upload(client, "estates", places.home, BAD_ESTATES)
    changelist = reverse("admin:console_importrun_changelist")
    run = ImportRun.objects.get()

    assert _todo(client, places.neighbour_secretary) == 0
    assert client.get(changelist).context["cl"].result_count == 0
    assert client.get(reverse("admin:console_importrun_change", args=[run.pk])).status_code in (302, 404)

    assert _todo(client, places.other_street_admin) == 0
    assert client.get(changelist).context["cl"].result_count == 0

    assert _todo(client, places.street_admin) == 1
    assert client.get(changelist).context["cl"].result_count == 1


def test_her_street_register_runs_are_hers(client, places):
    client.force_login(places.secretary)
    upload(client, "property-companies", places.street, [["企业名称", "统一社会信用代码"], ["某物业", "123"]])
    run = ImportRun.objects.get()
    assert (run.community, run.street, run.error_rows) == (None, places.street, 1)
    assert _todo(client, places.secretary) == 1
    assert _todo(client, places.street_admin) == 1
    assert _todo(client, places.neighbour_secretary) == 0


def test_the_list_is_read_only_even_for_superusers(client, places):
    client.force_login(places.secretary)
    upload(client, "estates", places.home, BAD_ESTATES)
    run = ImportRun.objects.get()
    superuser = factories.UserFactory(is_superuser=True, is_staff=True)
    for user in (places.secretary, superuser):
        client.force_login(user)
        assert client.get(reverse("admin:console_importrun_add")).status_code == 403
        client.post(reverse("admin:console_importrun_change", args=[run.pk]), {"file_name": "改过.xlsx"})
        assert client.post(reverse("admin:console_importrun_delete", args=[run.pk]), {"post": "yes"}).status_code == 403
    run.refresh_from_db()
    assert run.file_name == "台账.xlsx"


def test_the_service_records_only_for_staff_of_the_place(places):
    values = {
        "kind": "estates",
        "file_name": "a.xlsx",
        "rows": 1,
        "rows_applied": 0,
        "error_rows": 0,
        "errors": [],
        "saved": False,
    }
    for outsider, place in (
        (places.neighbour_secretary, places.home),
        (places.other_street_admin, places.home),
        (places.neighbour_secretary, places.other_street),
        (factories.UserFactory(), places.home),
    ):
        with pytest.raises(DomainError) as refused:
            services.record_import_run(by=outsider, place=place, **values)
        assert refused.value.code == "permission_denied"
    assert not ImportRun.objects.exists()
    services.record_import_run(by=places.street_admin, place=places.street, **values)
    assert ImportRun.objects.get().community is None


def test_errors_are_split_into_row_column_and_message():
    errors = services.import_errors(
        [(3, ["手机号: 请输入有效的中国大陆手机号", "该党员已有待审核或已通过的报到"]), (4, [])],
        columns=["姓名", "手机号"],
    )
    assert errors == [
        {"row": 3, "column": "手机号", "message": "请输入有效的中国大陆手机号"},
        {"row": 3, "column": "", "message": "该党员已有待审核或已通过的报到"},
    ]
