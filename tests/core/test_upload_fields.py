"""Other apps take uploads by id: only the caller's own, foreign ids as if they did not exist."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from backend.core.fields import UploadField, UploadListField, UploadSerializer
from backend.core.models import Upload
from backend.core.selectors import uploads_owned_by
from backend.core.uploads import store_upload
from tests import factories
from tests.core.test_uploads import image_bytes, pdf_bytes

pytestmark = pytest.mark.django_db


class AppealLike(serializers.Serializer):
    photos = UploadListField(kind=Upload.Kind.IMAGE, required=False, max_length=3)
    evidence = UploadField(required=False, allow_null=True)
    cover = UploadField(kind=Upload.Kind.IMAGE, required=False)


def image_of(user) -> Upload:
    return store_upload(owner=user, file=SimpleUploadedFile("p.png", image_bytes("PNG")))


def document_of(user) -> Upload:
    return store_upload(owner=user, file=SimpleUploadedFile("d.pdf", pdf_bytes()))


def validate(user, data: dict) -> AppealLike:
    request = APIRequestFactory().post("/")
    request.user = user
    serializer = AppealLike(data=data, context={"request": request})
    serializer.is_valid()
    return serializer


def test_own_uploads_resolve_in_order_without_repeats(resident):
    first, second = image_of(resident), image_of(resident)
    proof = document_of(resident)

    serializer = validate(resident, {"photos": [second.id, first.id, second.id], "evidence": proof.id})

    assert serializer.errors == {}
    assert serializer.validated_data["photos"] == [second, first]
    assert serializer.validated_data["evidence"] == proof


def test_someone_elses_upload_reads_like_a_missing_one(resident):
    stranger = factories.UserFactory()
    foreign = image_of(stranger)
    missing_id = foreign.id + 1000

    foreign_errors = validate(resident, {"photos": [foreign.id], "evidence": foreign.id}).errors
    missing_errors = validate(resident, {"photos": [missing_id], "evidence": missing_id}).errors

    assert set(foreign_errors) == {"photos", "evidence"}
    assert foreign_errors["evidence"] == [
        e.replace(str(missing_id), str(foreign.id)) for e in missing_errors["evidence"]
    ]
    assert foreign_errors["photos"] == [e.replace(str(missing_id), str(foreign.id)) for e in missing_errors["photos"]]


def test_kind_is_enforced(resident):
    proof = document_of(resident)

    errors = validate(resident, {"photos": [proof.id], "cover": proof.id}).errors

    assert set(errors) == {"photos", "cover"}


def test_list_length_and_types_are_checked(resident):
    photos = [image_of(resident).id for _ in range(4)]

    assert "photos" in validate(resident, {"photos": photos}).errors
    assert "photos" in validate(resident, {"photos": ["abc"]}).errors
    assert "photos" in validate(resident, {"photos": 5}).errors
    assert "evidence" in validate(resident, {"evidence": "abc"}).errors


def test_anonymous_owns_nothing(resident):
    from django.contrib.auth.models import AnonymousUser

    upload = image_of(resident)

    assert "photos" in validate(AnonymousUser(), {"photos": [upload.id]}).errors
    assert not uploads_owned_by(AnonymousUser(), [upload.id]).exists()
    assert not uploads_owned_by(None).exists()


def test_selector_filters_by_owner_ids_and_kind(resident):
    image, proof = image_of(resident), document_of(resident)
    image_of(factories.UserFactory())

    assert list(uploads_owned_by(resident)) == [image, proof]
    assert list(uploads_owned_by(resident, [proof.id])) == [proof]
    assert list(uploads_owned_by(resident, kind=Upload.Kind.IMAGE)) == [image]


def test_representation_is_ids_for_fields_and_urls_for_the_serializer(resident):
    image = image_of(resident)

    assert UploadListField().to_representation(Upload.objects.all()) == [image.id]
    assert UploadField().to_representation(image) == image.id
    shown = UploadSerializer(image).data
    assert shown["url"] == image.file.url and shown["thumbnail_url"] == image.thumbnail.url
