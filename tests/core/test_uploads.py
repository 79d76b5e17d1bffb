"""POST /api/v1/uploads/ and the store_upload service: what is kept, what is refused, what is left behind."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test.client import encode_multipart
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from backend.core import uploads
from backend.core.errors import DomainError
from backend.core.models import Upload
from backend.core.upload_views import MULTIPART_OVERHEAD
from backend.core.uploads import store_upload
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/uploads/"


# --- files made on the spot -------------------------------------------------------------------


def image_bytes(fmt: str, size=(64, 48), color=(200, 30, 30), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (29.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (113.0, 5.0, 40.25)
    return exif


def png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims width × height pixels."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def pdf_bytes() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 35 >>\nstream\nBT /F1 12 Tf 72 760 Td (Hi) Tj ET\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def docx_bytes(*, extra: dict[str, bytes] | None = None, document: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("_rels/.rels", "<Relationships/>")
        if document:
            archive.writestr(
                "word/document.xml",
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                "<w:body><w:p><w:r><w:t>述职报告</w:t></w:r></w:p></w:body></w:document>",
            )
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def compound_file(stream_name: str) -> bytes:
    """A minimal compound file (MS-CFB v3): one FAT sector, one directory sector, one named stream."""
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 0x2C, 1, 1, 0, 4096, end, 0, end, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([free] * 108))
    fat = struct.pack("<128I", fat_sector, end, *([free] * 126))

    def entry(name: str, kind: int, child: int = free) -> bytes:
        raw = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        raw[: len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 0x40, len(encoded), kind, 1)
        struct.pack_into("<III", raw, 0x44, free, free, child)
        struct.pack_into("<II", raw, 0x74, end, 0)
        return bytes(raw)

    directory = entry("Root Entry", 5, child=1) + entry(stream_name, 2) + bytes(256)
    return bytes(header) + fat + directory


# --- helpers ----------------------------------------------------------------------------------


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_nothing_stored() -> None:
    assert not Upload.objects.exists()
    assert media_files() == []


def post_file(client, name: str, data: bytes, content_type: str = "application/octet-stream", **extra):
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type)}, format="multipart", **extra)


def stored_path(upload: Upload, field: str = "file") -> Path:
    return Path(settings.MEDIA_ROOT) / getattr(upload, field).name


@pytest.fixture
def client(resident, as_user):
    return as_user(resident)


# --- images -----------------------------------------------------------------------------------


def test_png_is_kept_with_a_thumbnail(client, resident):
    response = post_file(client, "地图.png", image_bytes("PNG", (640, 320)), "image/png")

    assert response.status_code == 201, response.json()
    body = response.json()
    upload = Upload.objects.get()
    assert body["id"] == upload.id
    assert upload.owner == resident
    assert body["kind"] == "image"
    assert body["content_type"] == "image/png"
    assert (body["width"], body["height"]) == (640, 320)
    assert body["original_name"] == "地图.png"
    assert body["size"] == stored_path(upload).stat().st_size
    assert body["url"].startswith("http://testserver/media/uploads/")
    assert body["url"].split("?")[0].endswith(".png") and "?e=" in body["url"]
    assert body["thumbnail_url"].startswith("http://testserver/media/uploads/")
    assert body["created_at"]
    with Image.open(stored_path(upload)) as stored:
        assert stored.format == "PNG"
        assert stored.size == (640, 320)
    with Image.open(stored_path(upload, "thumbnail")) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (480, 240)


def test_jpeg_is_kept_with_a_thumbnail(client):
    response = post_file(client, "photo.jpg", image_bytes("JPEG", (1200, 900)), "image/jpeg")

    assert response.status_code == 201, response.json()
    upload = Upload.objects.get()
    assert (upload.content_type, upload.width, upload.height) == ("image/jpeg", 1200, 900)
    assert upload.file.name.endswith(".jpg")
    assert upload.sha256 == hashlib.sha256(stored_path(upload).read_bytes()).hexdigest()
    with Image.open(stored_path(upload, "thumbnail")) as thumb:
        assert thumb.size == (480, 360)
    assert len(media_files()) == 2


def test_webp_with_transparency_is_kept_and_its_thumbnail_flattened(client):
    data = image_bytes("WEBP", (100, 100), color=(0, 0, 255, 0), mode="RGBA", lossless=True)
    response = post_file(client, "sticker.webp", data, "image/webp")

    assert response.status_code == 201, response.json()
    upload = Upload.objects.get()
    assert upload.content_type == "image/webp"
    with Image.open(stored_path(upload)) as stored:
        assert stored.format == "WEBP"
        assert stored.mode == "RGBA"
    with Image.open(stored_path(upload, "thumbnail")) as thumb:
        # A transparent area shows as white in the thumbnail, not black.
        assert min(thumb.convert("RGB").getpixel((50, 50))) > 240


def test_gps_exif_and_every_other_metadata_is_gone(client):
    source = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 120, 200)).save(
        source,
        "JPEG",
        exif=gps_exif(),
        comment=b"home address",
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )
    with Image.open(io.BytesIO(source.getvalue())) as original:
        # The fixture really carries what must disappear.
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "comment" in original.info and "icc_profile" in original.info

    response = post_file(client, "IMG_0001.JPG", source.getvalue(), "image/jpeg")

    assert response.status_code == 201, response.json()
    upload = Upload.objects.get()
    for field in ("file", "thumbnail"):
        with Image.open(stored_path(upload, field)) as stored:
            assert not stored.getexif()
            assert "exif" not in stored.info
            assert "comment" not in stored.info
            assert "icc_profile" not in stored.info
    assert b"PhoneMaker" not in stored_path(upload).read_bytes()


def test_jpeg_comment_is_gone_without_a_colour_profile(client):
    source = io.BytesIO()
    Image.new("L", (40, 40), 90).save(source, "JPEG", exif=gps_exif(), comment=b"home address")

    response = post_file(client, "scan.jpg", source.getvalue(), "image/jpeg")

    assert response.status_code == 201, response.json()
    stored_bytes = stored_path(Upload.objects.get()).read_bytes()
    with Image.open(io.BytesIO(stored_bytes)) as stored:
        assert not stored.getexif() and "comment" not in stored.info
    assert b"home address" not in stored_bytes


def test_unconverted_colour_profile_is_dropped_too(client):
    # Grey images keep their pixels as they are; their profile must still not be carried over.
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = io.BytesIO()
    Image.new("L", (20, 20), 30).save(source, "PNG", icc_profile=profile)

    response = post_file(client, "grey.png", source.getvalue(), "image/png")

    assert response.status_code == 201, response.json()
    with Image.open(stored_path(Upload.objects.get())) as stored:
        assert "icc_profile" not in stored.info


def test_png_text_and_exif_chunks_are_gone(client):
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "29.37N 113.09E")
    source = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(source, "PNG", pnginfo=info, exif=gps_exif())

    response = post_file(client, "screen.png", source.getvalue(), "image/png")

    assert response.status_code == 201, response.json()
    stored_bytes = stored_path(Upload.objects.get()).read_bytes()
    with Image.open(io.BytesIO(stored_bytes)) as stored:
        assert not stored.getexif()
        assert "exif" not in stored.info and "Location" not in stored.info
    assert b"29.37N" not in stored_bytes and b"eXIf" not in stored_bytes


def test_exif_orientation_is_applied(client):
    # Stored sideways as phones do: 40 wide, 20 high, left half red, with "rotate 90° clockwise".
    sideways = Image.new("RGB", (40, 20), (0, 0, 255))
    sideways.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    source = io.BytesIO()
    sideways.save(source, "JPEG", exif=exif, quality=95)

    response = post_file(client, "portrait.jpg", source.getvalue(), "image/jpeg")

    assert response.status_code == 201, response.json()
    assert (response.json()["width"], response.json()["height"]) == (20, 40)
    with Image.open(stored_path(Upload.objects.get())) as stored:
        assert stored.size == (20, 40)
        assert ExifTags.Base.Orientation not in stored.getexif()
        top, bottom = stored.getpixel((10, 5)), stored.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_decompression_bomb_is_refused_and_nothing_stored(client):
    data = png_declaring(40_000, 40_000)  # 1.6 billion pixels declared in under 100 bytes
    assert len(data) < 200

    response = post_file(client, "bomb.png", data, "image/png")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_bomb_warning_turned_error_is_refused_too(client):
    # Between Pillow's warning and error thresholds; as an error (as here) it must still be a 400.
    response = post_file(client, "bomb.png", png_declaring(10_000, 10_000), "image/png")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()


def test_pixel_cap_is_the_setting(client, settings):
    settings.UPLOAD_MAX_PIXELS = 100 * 100
    response = post_file(client, "big.png", image_bytes("PNG", (101, 100)), "image/png")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()
    assert post_file(client, "ok.png", image_bytes("PNG", (100, 100)), "image/png").status_code == 201


def test_text_renamed_jpg_is_refused_and_nothing_stored(client):
    response = post_file(client, "photo.jpg", "这不是图片,只是文字。\n".encode() * 20, "image/jpeg")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()


def test_truncated_jpeg_is_refused(client):
    data = image_bytes("JPEG", (300, 300))
    response = post_file(client, "cut.jpg", data[: len(data) // 2], "image/jpeg")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()


def test_gif_is_not_allowed(client):
    response = post_file(client, "anim.gif", image_bytes("GIF", mode="P", color=1), "image/gif")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()


# --- size caps --------------------------------------------------------------------------------


def test_file_over_the_byte_cap_is_413(client, settings):
    data = image_bytes("PNG", (200, 200), color=None)
    settings.UPLOAD_MAX_BYTES = len(data) - 1  # the body itself fits within the multipart allowance

    response = post_file(client, "big.png", data, "image/png")

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert set(response.json()) == {"code", "detail"}
    assert_nothing_stored()


def test_declared_length_over_the_cap_is_refused_before_the_body_is_read(client, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    boundary = "BoUnDaRy"
    body = encode_multipart(boundary, {"file": SimpleUploadedFile("a.png", image_bytes("PNG"), "image/png")})
    # A small, valid body announced as far too large: only the announcement can refuse it.
    response = client.generic(
        "POST",
        URL,
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        CONTENT_LENGTH=str(1000 + MULTIPART_OVERHEAD + 1),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert_nothing_stored()


def test_oversized_form_fields_are_413_not_400(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post(
        URL,
        {"file": SimpleUploadedFile("a.png", image_bytes("PNG"), "image/png"), "note": "x" * 4096},
        format="multipart",
    )

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert_nothing_stored()


def test_oversized_urlencoded_body_is_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post(URL, "file=" + "x" * 4096, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"


# --- documents --------------------------------------------------------------------------------


def test_pdf_is_kept_by_its_content(client):
    response = post_file(client, "述职报告.PDF", pdf_bytes(), "application/octet-stream")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "document"
    assert body["content_type"] == "application/pdf"
    assert body["thumbnail_url"] is None
    assert body["width"] is None and body["height"] is None
    assert body["original_name"] == "述职报告.PDF"
    upload = Upload.objects.get()
    assert upload.file.name.endswith(".pdf")
    assert stored_path(upload).read_bytes() == pdf_bytes()
    assert upload.sha256 == hashlib.sha256(pdf_bytes()).hexdigest()
    assert len(media_files()) == 1


def test_docx_is_kept_by_its_structure(client):
    response = post_file(client, "plan.docx", docx_bytes(), "application/zip")

    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert Upload.objects.get().file.name.endswith(".docx")


def test_legacy_doc_is_kept_by_its_word_stream(client):
    response = post_file(client, "通知.doc", compound_file("WordDocument"), "application/msword")

    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == "application/msword"
    assert Upload.objects.get().file.name.endswith(".doc")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", b"Just some text pretending to be a PDF.\n" * 10),
        ("cut.pdf", pdf_bytes()[:-40]),
        ("sheet.docx", docx_bytes(document=False)),
        ("macro.docx", docx_bytes(extra={"word/vbaProject.bin": b"\x00" * 64})),
        ("archive.docx", b"PK\x03\x04" + b"\x00" * 200),
        ("book.doc", compound_file("Workbook")),
        ("broken.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 100),
        ("script.docx", b"#!/bin/sh\nrm -rf /\n"),
    ],
)
def test_fake_or_broken_documents_are_refused(client, name, data):
    response = post_file(client, name, data, "application/pdf")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()


# --- the request itself -----------------------------------------------------------------------


def test_anonymous_gets_401_in_the_error_format(api):
    response = post_file(api, "a.png", image_bytes("PNG"), "image/png")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "detail" in response.json()
    assert_nothing_stored()


def test_missing_file_is_a_validation_error(client):
    response = client.post(URL, {"note": "没有文件"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "file" in response.json()["fields"]


def test_text_in_the_file_field_is_a_validation_error(client):
    response = client.post(URL, {"file": "not a file"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "file" in response.json()["fields"]


def test_empty_file_is_refused(client):
    response = post_file(client, "empty.png", b"", "image/png")

    assert response.status_code == 400
    assert "file" in response.json()["fields"]
    assert_nothing_stored()


def test_two_files_in_one_request_are_refused(client):
    files = [SimpleUploadedFile(f"{n}.png", image_bytes("PNG"), "image/png") for n in range(2)]
    response = client.post(URL, {"file": files}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "file" in response.json()["fields"]
    assert_nothing_stored()


def test_json_body_is_415(client):
    response = client.post(URL, {"file": "x"}, format="json")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_other_form_fields_are_ignored(client):
    response = client.post(
        URL,
        {"file": SimpleUploadedFile("a.jpg", image_bytes("JPEG"), "image/jpeg"), "purpose": "appeal"},
        format="multipart",
    )

    assert response.status_code == 201, response.json()


def test_schema_documents_multipart_and_413(client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/uploads/"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"201", "400", "401", "413"} <= set(operation["responses"])


# --- the service, called directly -------------------------------------------------------------


def test_store_upload_directly(resident):
    data = image_bytes("JPEG", (10, 20))
    upload = store_upload(owner=resident, file=SimpleUploadedFile("C:\\Users\\王\\照片\u202egpj.exe", data))

    assert upload.pk and upload.owner == resident
    assert upload.kind == Upload.Kind.IMAGE
    assert (upload.width, upload.height) == (10, 20)
    assert upload.original_name == "照片gpj.exe"
    parts = upload.file.name.split("/")
    assert parts[0] == "uploads" and len(parts) == 4
    assert len(parts[1]) == 4 and len(parts[2]) == 2
    assert len(parts[3]) == len("0123456789abcdef0123456789abcdef.jpg")
    assert upload.thumbnail.name == upload.file.name.replace(".jpg", "_thumb.jpg")
    assert upload.sha256 == hashlib.sha256(stored_path(upload).read_bytes()).hexdigest()
    assert upload.size == stored_path(upload).stat().st_size


def test_store_upload_names_are_random(resident):
    first = store_upload(owner=resident, file=SimpleUploadedFile("same.pdf", pdf_bytes()))
    second = store_upload(owner=resident, file=SimpleUploadedFile("same.pdf", pdf_bytes()))

    assert first.file.name != second.file.name
    assert first.sha256 == second.sha256


def test_store_upload_refuses_with_domain_errors(resident, settings):
    with pytest.raises(DomainError) as refused:
        store_upload(owner=resident, file=SimpleUploadedFile("x.jpg", b"GIF89a not really"))
    assert refused.value.code == "invalid_file"

    settings.UPLOAD_MAX_BYTES = 10
    with pytest.raises(DomainError) as too_big:
        store_upload(owner=resident, file=SimpleUploadedFile("y.pdf", pdf_bytes()))
    assert too_big.value.code == "file_too_large"
    assert too_big.value.status == 413
    assert_nothing_stored()


@pytest.mark.parametrize("data", [image_bytes("PNG", (30, 30)), pdf_bytes()], ids=["image", "document"])
def test_files_are_removed_when_the_row_cannot_be_written(resident, monkeypatch, data):
    def failing_create(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Upload.objects, "create", failing_create)
    with pytest.raises(DatabaseError):
        store_upload(owner=resident, file=SimpleUploadedFile("a.bin", data))
    assert_nothing_stored()


def test_account_anonymisation_keeps_the_upload(resident):
    upload = store_upload(owner=resident, file=SimpleUploadedFile("a.pdf", pdf_bytes()))
    resident.delete()

    upload.refresh_from_db()
    assert upload.owner is None


def test_sanitise_name_keeps_the_extension_when_cutting():
    name = uploads.sanitise_name("长" * 300 + ".docx")
    assert len(name) == 255 and name.endswith(".docx")
    assert uploads.sanitise_name("../../etc/passwd\x00") == "passwd"
    assert uploads.sanitise_name(None) == ""


# --- the console ------------------------------------------------------------------------------


def test_admin_is_read_only_and_for_superusers(client, resident, community):
    store_upload(owner=resident, file=SimpleUploadedFile("a.png", image_bytes("PNG")))
    upload = Upload.objects.get()
    from django.test import Client

    superuser = factories.UserFactory(is_superuser=True, is_staff=True)
    browser = Client()
    browser.force_login(superuser)
    assert browser.get("/admin/core/upload/").status_code == 200
    assert browser.get(f"/admin/core/upload/{upload.pk}/change/").status_code == 200
    assert browser.get("/admin/core/upload/add/").status_code == 403
    assert browser.post(f"/admin/core/upload/{upload.pk}/delete/", {"post": "yes"}).status_code == 403

    secretary = factories.staff_of(community)
    browser.force_login(secretary)
    assert browser.get("/admin/core/upload/").status_code == 403
    assert Upload.objects.count() == 1


# What a decode may cost -----------------------------------------------------------------------------


def test_the_pixel_cap_is_sized_for_phone_photos(settings):
    """The probe's 39.7-megapixel PNG is over it; a 12-megapixel phone photo is well under."""
    assert 4000 * 3000 < settings.UPLOAD_MAX_PIXELS < 39_700_000


def test_an_image_decoding_to_far_more_than_its_size_is_refused(client):
    """12 megapixels of one colour in a few dozen KB: under the pixel cap, over the ratio."""
    data = image_bytes("PNG", (4000, 3000), (255, 255, 255))
    assert len(data) * uploads.DECODE_RATIO_MAX < 4000 * 3000 * 3
    response = post_file(client, "flat.png", data, "image/png")
    assert response.status_code == 400 and response.json()["code"] == "invalid_file"
    assert_nothing_stored()


def test_a_small_flat_image_is_no_bomb(client):
    """Below the floor a high ratio costs nothing: an icon of one colour is kept."""
    assert (
        post_file(client, "icon.png", image_bytes("PNG", (1000, 1000), (255, 255, 255)), "image/png").status_code == 201
    )


def test_decodes_wait_for_a_free_slot_and_then_answer_503(client, monkeypatch):
    monkeypatch.setattr(uploads, "DECODE_WAIT", 0.1)
    for _ in range(uploads.MAX_CONCURRENT_DECODES):
        assert uploads._decodes.acquire(blocking=False)
    try:
        response = post_file(client, "photo.png", image_bytes("PNG"), "image/png")
    finally:
        for _ in range(uploads.MAX_CONCURRENT_DECODES):
            uploads._decodes.release()
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
    assert_nothing_stored()
    assert post_file(client, "photo.png", image_bytes("PNG"), "image/png").status_code == 201


def test_truncated_png_is_refused(client):
    """The first 200 bytes of a 100×100 PNG (an 8-bit grey one, padded to 206 bytes by a text chunk
    before its pixels): all of its pixel data is there, its IEND chunk is cut."""
    bare = len(image_bytes("PNG", (100, 100), color=128, mode="L"))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * (206 - bare - len("Comment") - 13))  # a chunk's 12 bytes and a NUL
    buffer = io.BytesIO()
    Image.new("L", (100, 100), 128).save(buffer, "PNG", pnginfo=info)
    data = buffer.getvalue()
    assert len(data) == 206 and data.index(b"IEND") == 198
    response = post_file(client, "cut.png", data[:200], "image/png")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()


def test_png_cut_inside_its_pixels_is_refused(client):
    data = image_bytes("PNG", (100, 100))
    response = post_file(client, "cut.png", data[:200], "image/png")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"
    assert_nothing_stored()
