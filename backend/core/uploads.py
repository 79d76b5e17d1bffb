"""Verifying and storing uploads.

What arrives is untrusted bytes until it has been checked by its content: images are decoded
with Pillow and written back out from their pixels alone (orientation applied, every piece of
metadata left behind: GPS positions, camera serials, comments, XMP); PDF and Word documents are
recognised by their structure, never by their name or the client's content type. Nothing is
written to storage before a file has passed, and nothing stays there if the row cannot be saved.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import secrets
import struct
import threading
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageCms, ImageOps

from .errors import DomainError
from .models import Upload

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = 480
IMAGE_QUALITY = 88
THUMBNAIL_QUALITY = 80
ORIGINAL_NAME_MAX = 255

# Pillow is asked for these decoders only, so a GIF, a TIFF or an SVG is never even parsed.
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP")
# MPO is how Pillow's JPEG decoder reports the multi-picture JPEGs many phone cameras write.
_IMAGE_OUTPUT = {
    "JPEG": ("image/jpeg", "jpg"),
    "MPO": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC_TYPE = "application/msword"

_HEAD_BYTES = 1024
# Readers accept the header anywhere in the first KiB and the end marker in the last one.
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_PDF_TAIL_BYTES = 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_MAX_REGULAR_SECTOR = 0xFFFFFFFA
_OLE_STREAM = 2

_UNSUPPORTED = _("只能上传 JPEG、PNG、WebP 图片或 PDF、Word(.doc、.docx)文档")
_BROKEN_IMAGE = _("图片已损坏或无法识别")
_TOO_MANY_PIXELS = _("图片像素过多")
_TOO_COMPRESSED = _("图片解码后过大")

# What decoding an image may cost. Phone photos are 12 megapixels by default and a few MB as JPEG,
# about ten decoded bytes per file byte; a crafted PNG of a single colour packs tens of megapixels
# into a few hundred KB (a 154 KB file took 2.9 s and 320 MB). Past DECODE_RATIO_FLOOR decoded
# bytes, an image may expand at most DECODE_RATIO_MAX times its file size (a scan of a white page
# stays under a hundred). At most MAX_CONCURRENT_DECODES run in one process; a request waits
# DECODE_WAIT seconds for its turn and is then asked to retry.
DECODE_RATIO_MAX = 250
DECODE_RATIO_FLOOR = 16 * 1024 * 1024
MAX_CONCURRENT_DECODES = 2
DECODE_WAIT = 20
_decodes = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)


@dataclass(frozen=True)
class _Checked:
    kind: str
    content_type: str
    extension: str
    content: File
    size: int
    sha256: str
    thumbnail: bytes | None = None
    width: int | None = None
    height: int | None = None


def store_upload(*, owner: AbstractBaseUser | None, file: File) -> Upload:
    """Check one uploaded file by its content and keep it; refuse it with `invalid_file` otherwise."""
    size = file.size or 0
    if size > settings.UPLOAD_MAX_BYTES:
        raise file_too_large()
    if size == 0:
        raise DomainError("invalid_file", _("文件为空"))
    file.seek(0)
    head = file.read(_HEAD_BYTES)
    if head.startswith(_OLE_MAGIC):
        checked = _check_word_binary(file, size)
    elif head.startswith(_ZIP_MAGIC):
        checked = _check_docx(file, size)
    elif _PDF_HEADER.search(head):
        checked = _check_pdf(file, size)
    else:
        checked = _check_image(file, size)
    return _save(owner=owner, checked=checked, original_name=sanitise_name(file.name))


def file_too_large() -> DomainError:
    limit_mb = settings.UPLOAD_MAX_BYTES / (1024 * 1024)
    return DomainError("file_too_large", _("文件不能超过 %(limit)s MB") % {"limit": f"{limit_mb:g}"})


def sanitise_name(name: str | None) -> str:
    """The client's name for the file, fit to show back: no path, no control or direction marks."""
    if not name:
        return ""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    # Category C covers control characters and the bidi overrides that dress `exe.jpg` up as `gpj.exe`.
    name = "".join(ch for ch in name if ch not in '<>:"|?*' and not unicodedata.category(ch).startswith("C"))
    name = name.strip(" .")
    if len(name) > ORIGINAL_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = f"{stem[: ORIGINAL_NAME_MAX - len(extension) - 1]}.{extension}"
        else:
            name = name[:ORIGINAL_NAME_MAX]
    return name


def _chunks(file: File) -> Iterator[bytes]:
    file.seek(0)
    yield from file.chunks()


def _digest(file: File) -> str:
    sha = hashlib.sha256()
    for chunk in _chunks(file):
        sha.update(chunk)
    return sha.hexdigest()


def _document(file: File, size: int, content_type: str, extension: str) -> _Checked:
    file.seek(0)
    return _Checked(
        kind=Upload.Kind.DOCUMENT,
        content_type=content_type,
        extension=extension,
        content=file,
        size=size,
        sha256=_digest(file),
    )


def _check_pdf(file: File, size: int) -> _Checked:
    file.seek(max(0, size - _PDF_TAIL_BYTES))
    if b"%%EOF" not in file.read(_PDF_TAIL_BYTES):
        raise DomainError("invalid_file", _("PDF 文件不完整或已损坏"))
    return _document(file, size, PDF_TYPE, "pdf")


def _check_docx(file: File, size: int) -> _Checked:
    file.seek(0)
    try:
        # Only the central directory is read: no member is decompressed, so a zip bomb costs nothing.
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error) as exc:
        logger.info("upload refused: unreadable zip (%s)", exc)
        raise DomainError("invalid_file", _UNSUPPORTED) from exc
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        raise DomainError("invalid_file", _UNSUPPORTED)
    if "word/vbaProject.bin" in names:
        raise DomainError("invalid_file", _("不接受含宏的 Word 文档"))
    return _document(file, size, DOCX_TYPE, "docx")


def _check_word_binary(file: File, size: int) -> _Checked:
    # Excel, PowerPoint and MSI installers share the compound-file container with .doc files;
    # only a Word file has a `WordDocument` stream.
    try:
        is_word = _has_word_document_stream(file, size)
    except (struct.error, OSError, ValueError) as exc:
        logger.info("upload refused: unreadable compound file (%s)", exc)
        is_word = False
    if not is_word:
        raise DomainError("invalid_file", _UNSUPPORTED)
    return _document(file, size, DOC_TYPE, "doc")


def _has_word_document_stream(file: IO[bytes], size: int) -> bool:
    """Walk a compound file's directory (MS-CFB) looking for the `WordDocument` stream."""
    file.seek(0)
    header = file.read(512)
    if len(header) < 512:
        return False
    sector_shift = struct.unpack_from("<H", header, 0x1E)[0]
    if sector_shift not in (9, 12):
        return False
    sector_size = 1 << sector_shift
    per_sector = sector_size // 4
    # Every chain below is bounded by the number of sectors the file can hold, so a crafted
    # loop or an absurd count ends the walk instead of spinning.
    max_sectors = size // sector_size + 1
    fat_count = struct.unpack_from("<I", header, 0x2C)[0]
    first_directory = struct.unpack_from("<I", header, 0x30)[0]
    next_difat = struct.unpack_from("<I", header, 0x44)[0]
    difat_count = struct.unpack_from("<I", header, 0x48)[0]
    if fat_count > max_sectors or difat_count > max_sectors:
        return False

    def sector(number: int) -> bytes | None:
        if number > _OLE_MAX_REGULAR_SECTOR:
            return None
        file.seek((number + 1) * sector_size)
        data = file.read(sector_size)
        return data if len(data) == sector_size else None

    fat_sectors = [n for n in struct.unpack_from("<109I", header, 0x4C) if n <= _OLE_MAX_REGULAR_SECTOR]
    for _step in range(difat_count):
        block = sector(next_difat)
        if block is None:
            break
        entries = struct.unpack(f"<{per_sector}I", block)
        fat_sectors.extend(n for n in entries[:-1] if n <= _OLE_MAX_REGULAR_SECTOR)
        next_difat = entries[-1]
    fat: list[int] = []
    for number in fat_sectors[:fat_count]:
        block = sector(number)
        if block is None:
            return False
        fat.extend(struct.unpack(f"<{per_sector}I", block))

    current, seen = first_directory, set[int]()
    while current <= _OLE_MAX_REGULAR_SECTOR and current not in seen and len(seen) < max_sectors:
        seen.add(current)
        block = sector(current)
        if block is None:
            return False
        for offset in range(0, sector_size, 128):
            name_length = struct.unpack_from("<H", block, offset + 0x40)[0]
            object_type = block[offset + 0x42]
            if 2 <= name_length <= 64 and object_type == _OLE_STREAM:
                name = block[offset : offset + name_length - 2].decode("utf-16-le", errors="replace")
                if name == "WordDocument":
                    return True
        current = fat[current] if current < len(fat) else _OLE_MAX_REGULAR_SECTOR + 1
    return False


def _check_image(file: File, size: int) -> _Checked:
    file.seek(0)
    try:
        image = Image.open(file, formats=_PILLOW_FORMATS)
    except Image.UnidentifiedImageError as exc:
        raise DomainError("invalid_file", _UNSUPPORTED) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DomainError("invalid_file", _TOO_MANY_PIXELS) from exc
    except Exception as exc:  # a decoder failing on hostile bytes is bad input, not a bug
        logger.info("upload refused: image header unreadable (%r)", exc)
        raise DomainError("invalid_file", _BROKEN_IMAGE) from exc
    try:
        with image:
            _check_decoded_size(image, size)
            _check_complete(file)
            if not _decodes.acquire(timeout=DECODE_WAIT):
                raise DomainError("service_unavailable", _("图片处理繁忙, 请稍后重试"))
            try:
                return _rewrite_image(image)
            finally:
                _decodes.release()
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DomainError("invalid_file", _TOO_MANY_PIXELS) from exc
    except MemoryError as exc:
        raise DomainError("invalid_file", _TOO_MANY_PIXELS) from exc
    except Exception as exc:  # truncated data, broken EXIF, bad palettes: all bad input
        logger.info("upload refused: image does not decode (%r)", exc)
        raise DomainError("invalid_file", _BROKEN_IMAGE) from exc


def _check_complete(file: File) -> None:
    """The file read to its end: a PNG cut after its pixel data decodes in full (Pillow stops at the
    last IDAT and shrugs at missing chunks after it), so its chunks are walked, CRCs checked, to IEND."""
    file.seek(0)
    with Image.open(file, formats=_PILLOW_FORMATS) as whole:
        whole.verify()
    file.seek(0)


def _check_decoded_size(image: Image.Image, size: int) -> None:
    """The declared size against the caps, before a single pixel is decoded."""
    width, height = image.size
    if width * height > settings.UPLOAD_MAX_PIXELS:
        raise DomainError("invalid_file", _TOO_MANY_PIXELS)
    decoded = width * height * len(image.getbands())
    if decoded > DECODE_RATIO_FLOOR and decoded > DECODE_RATIO_MAX * size:
        raise DomainError("invalid_file", _TOO_COMPRESSED)


def _rewrite_image(image: Image.Image) -> _Checked:
    content_type, extension = _IMAGE_OUTPUT[image.format or ""]
    output_format = "JPEG" if content_type == "image/jpeg" else image.format
    image.load()
    icc_profile = image.info.get("icc_profile")
    ImageOps.exif_transpose(image, in_place=True)
    pixels = _as_srgb(image, icc_profile)
    if pixels.mode not in ("L", "LA", "RGB", "RGBA"):
        pixels = pixels.convert("RGBA" if pixels.has_transparency_data else "RGB")
    if output_format == "JPEG" and pixels.mode not in ("L", "RGB"):
        pixels = pixels.convert("RGB")
    # Encoders fall back to `info` for some chunks (PNG's iCCP, JPEG's comment): empty it.
    pixels.info = {}

    stored = io.BytesIO()
    if output_format == "JPEG":
        pixels.save(stored, "JPEG", quality=IMAGE_QUALITY)
    elif output_format == "WEBP":
        pixels.save(stored, "WEBP", quality=IMAGE_QUALITY)
    else:
        pixels.save(stored, "PNG")
    data = stored.getvalue()
    return _Checked(
        kind=Upload.Kind.IMAGE,
        content_type=content_type,
        extension=extension,
        content=ContentFile(data),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        thumbnail=_thumbnail(pixels),
        width=pixels.width,
        height=pixels.height,
    )


def _as_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Phones shoot in wide gamuts (Display P3); the profile goes, so its colours are converted first."""
    if not icc_profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        target = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(
            image, source, target, outputMode="RGBA" if image.mode == "RGBA" else "RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        # A profile that cannot be read is dropped with the rest of the metadata.
        logger.info("upload: colour profile ignored (%s)", exc)
        return image
    return converted if converted is not None else image


def _thumbnail(image: Image.Image) -> bytes:
    scale = min(1.0, THUMBNAIL_SIZE / image.width, THUMBNAIL_SIZE / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # resize() builds only the small image; thumbnail() would need a full-size copy first.
    small = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0) if scale < 1 else image
    if small.mode in ("LA", "RGBA"):
        flat = Image.new("RGB", small.size, (255, 255, 255))
        flat.paste(small.convert("RGBA"), mask=small.getchannel("A"))
        small = flat
    out = io.BytesIO()
    small.save(out, "JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()


def _save(*, owner: AbstractBaseUser | None, checked: _Checked, original_name: str) -> Upload:
    stem = f"uploads/{timezone.localdate():%Y/%m}/{secrets.token_hex(16)}"
    written: list[str] = []
    try:
        file_name = default_storage.save(f"{stem}.{checked.extension}", checked.content)
        written.append(file_name)
        thumbnail_name = ""
        if checked.thumbnail is not None:
            thumbnail_name = default_storage.save(f"{stem}_thumb.jpg", ContentFile(checked.thumbnail))
            written.append(thumbnail_name)
        with transaction.atomic():
            return Upload.objects.create(
                # By id: core names no user model, and the owner is whichever one AUTH_USER_MODEL is.
                owner_id=owner.pk if owner is not None else None,
                kind=checked.kind,
                file=file_name,
                thumbnail=thumbnail_name,
                content_type=checked.content_type,
                size=checked.size,
                width=checked.width,
                height=checked.height,
                sha256=checked.sha256,
                original_name=original_name,
            )
    except Exception:
        for name in written:
            default_storage.delete(name)
        raise
