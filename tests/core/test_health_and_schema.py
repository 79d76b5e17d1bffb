import pytest
from django.core.management import call_command

from backend.core import views as core_views

pytestmark = pytest.mark.django_db


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "channel_layer": True}


def test_healthz_names_the_failed_channel_layer(client, monkeypatch):
    def broken():
        raise ConnectionError("redis down")

    monkeypatch.setattr(core_views, "get_channel_layer", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert "channel_layer" in body["detail"]
    assert body["checks"] == {"database": True, "channel_layer": False}


def test_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning and error into a failure.
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/estates/" in text
    assert "Error" in text


def test_schema_documents_error_responses(client):
    schema = client.get("/api/schema/?format=json").json()
    estate_post = schema["paths"]["/api/v1/estates/"]["post"]["responses"]
    assert {"201", "400", "401", "403"} <= set(estate_post)
    assert estate_post["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_docs_served_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower()
