"""POST /api/v1/uploads/: one file per request, as `wx.uploadFile` sends it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, ParseError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import field_error
from .fields import UploadSerializer
from .uploads import file_too_large, store_upload

# Room for the multipart boundaries, part headers and a few small form fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


class CappedMultiPartParser(MultiPartParser):
    """Refuses a body whose declared length is over the cap before reading a byte of it."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        meta = getattr(request, "META", {})
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except (TypeError, ValueError):
            declared = 0
        if declared > settings.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD:
            raise file_too_large()
        try:
            return super().parse(stream, media_type, parser_context)
        except (TooManyFieldsSent, TooManyFilesSent) as exc:
            raise ParseError(_("表单字段或文件过多")) from exc


class UploadRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="one JPEG, PNG or WebP image, or one PDF, DOC or DOCX document")


class UploadView(APIView):
    # Form parsers only: a JSON body has no file in it and answers 415.
    parser_classes = [CappedMultiPartParser, FormParser]
    # 503: every image decoder of the process stayed busy (see uploads.MAX_CONCURRENT_DECODES).
    error_statuses = ("413", "415", "503")

    @extend_schema(
        operation_id="uploads_create",
        summary="上传一个文件",
        description=(
            "Multipart, the file in the field `file` (what `wx.uploadFile` sends). Images are decoded, "
            "turned upright by their EXIF orientation, stripped of all metadata and given a thumbnail; "
            "documents are recognised by their content. Other endpoints take the returned `id`. "
            "Too large: 413 `file_too_large`; not an allowed or not a readable file: 400 `invalid_file`."
        ),
        request={"multipart/form-data": UploadRequestSerializer},
        responses={status.HTTP_201_CREATED: UploadSerializer},
    )
    def post(self, request: Request) -> Response:
        if sum(len(files) for _name, files in request.FILES.lists()) > 1:
            raise field_error("file", _("每次只能上传一个文件"))
        serializer = UploadRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        owner = request.user
        if not isinstance(owner, AbstractBaseUser):  # the permission check let only signed-in users in
            raise NotAuthenticated()
        upload = store_upload(owner=owner, file=serializer.validated_data["file"])
        return Response(UploadSerializer(upload, context={"request": request}).data, status=status.HTTP_201_CREATED)
