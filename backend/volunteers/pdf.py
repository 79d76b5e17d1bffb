"""The printable 志愿服务证明: one A4 page in the national format, with a QR code to the verify page.

Every Chinese glyph must show in every viewer, phones included, so the font travels inside the
file: fpdf2 embeds a subset of Noto Sans CJK (OFL 1.1, a CFF-outline OpenType font) holding only
the glyphs the page uses. The font is installed with the project (the `cvttf-NotoSansCJK-Regular`
package) and never fetched at run time. Text stays extractable, so a certificate can be searched
and checked by machine.

Rendering parses the font and subsets it: about a second of CPU. The page depends only on the
certificate's stored snapshot and whether it is revoked, so the bytes are cached by those.
"""

from __future__ import annotations

import functools
from io import BytesIO

import segno
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from fpdf import FPDF

from .models import Certificate

FONT_FAMILY = "NotoSansCJK"
# Bump when the layout changes, so cached pages of the old layout are not served.
LAYOUT_VERSION = 1
CACHE_SECONDS = 24 * 3600
PDF_CONTENT_TYPE = "application/pdf"


@functools.cache
def font_path() -> str:
    """The CJK font shipped by a dependency (see pyproject.toml), as a file path fpdf2 can embed."""
    import cvttf_NotoSansCJK_Regular

    return cvttf_NotoSansCJK_Regular.get_TTF_path()


def verify_url(certificate: Certificate) -> str:
    return f"{settings.CERTIFICATE_VERIFY_URL_PREFIX}{certificate.number}"


def _date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _hours(hours) -> str:
    return f"{hours:.2f}"


def _qr_png(url: str) -> BytesIO:
    out = BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8, border=2)
    out.seek(0)
    return out


def certificate_filename(certificate: Certificate) -> str:
    return f"志愿服务证明-{certificate.number}.pdf"


def render(certificate: Certificate) -> bytes:
    """The certificate as PDF bytes (cached; the snapshot never changes, revocation changes the key)."""
    revoked = int(certificate.revoked_at.timestamp()) if certificate.revoked_at else 0
    key = f"volunteers:certificate-pdf:{LAYOUT_VERSION}:{certificate.number}:{revoked}"
    cached = cache.get(key)
    if isinstance(cached, bytes):
        return cached
    data = _render(certificate)
    cache.set(key, data, CACHE_SECONDS)
    return data


def _render(certificate: Certificate) -> bytes:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"志愿服务证明 {certificate.number}")
    pdf.set_creator("社区党建与志愿服务")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(left=25, top=25, right=25)
    pdf.add_font(FONT_FAMILY, "", font_path())
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    _heading(pdf, certificate, width)
    _statement(pdf, certificate, width)
    issuer_top = _table(pdf, certificate, width)
    _issuer(pdf, certificate, width, top=issuer_top)
    _footer(pdf, certificate, width)
    return bytes(pdf.output())


def _heading(pdf: FPDF, certificate: Certificate, width: float) -> None:
    """The red frame, the revocation mark if any, the title and the number."""
    pdf.set_draw_color(180, 30, 30)
    pdf.set_line_width(0.8)
    pdf.rect(15, 15, pdf.w - 30, pdf.h - 30)

    if certificate.revoked_at is not None:
        pdf.set_text_color(200, 0, 0)
        pdf.set_font(FONT_FAMILY, size=14)
        pdf.set_xy(pdf.l_margin, 20)
        pdf.cell(width, 8, f"已作废 ({_date(timezone.localtime(certificate.revoked_at).date())})", align="R")

    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT_FAMILY, size=26)
    pdf.set_xy(pdf.l_margin, 38)
    pdf.cell(width, 14, "志愿服务证明", align="C")

    pdf.set_font(FONT_FAMILY, size=11)
    pdf.set_xy(pdf.l_margin, 54)
    pdf.cell(width, 7, f"证明编号: {certificate.number}", align="C")


def _statement(pdf: FPDF, certificate: Certificate, width: float) -> None:
    pdf.set_font(FONT_FAMILY, size=13)
    pdf.set_xy(pdf.l_margin, 72)
    # No spaces in the paragraph: fpdf2 then breaks it between any two characters, as Chinese wraps.
    body = (
        f"兹证明{certificate.volunteer_name}"
        f"（证件类型：{certificate.get_id_type_display()}，证件号码：{certificate.id_number_masked}，"
        f"志愿者编号：{certificate.volunteer_number}）"
        f"于{_date(certificate.period_start)}至{_date(certificate.period_end)}期间，"
        f"参加由{certificate.issuer_name}组织的志愿服务，"
        f"服务内容：{certificate.service_summary}；"
        f"经审核，累计志愿服务时长{_hours(certificate.hours)}小时。"
    )
    pdf.multi_cell(width, 9, "\u3000\u3000" + body, align="L")
    pdf.ln(4)
    pdf.multi_cell(width, 9, "\u3000\u3000特此证明。", align="L")


def _table(pdf: FPDF, certificate: Certificate, width: float) -> float:
    """The essentials as a bordered table; answers where the issuer's block starts below it."""
    rows = [
        ("志愿者姓名", certificate.volunteer_name),
        ("证件类型", certificate.get_id_type_display()),
        ("证件号码", certificate.id_number_masked),
        ("志愿者编号", certificate.volunteer_number),
        ("服务期间", f"{_date(certificate.period_start)} 至 {_date(certificate.period_end)}"),
        ("服务时长", f"{_hours(certificate.hours)} 小时"),
    ]
    pdf.set_font(FONT_FAMILY, size=11)
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    top = max(pdf.get_y() + 8, 150)
    label_width = 40
    for index, (label, value) in enumerate(rows):
        y = top + index * 9
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_width, 9, label, border=1, align="C")
        pdf.cell(width - label_width, 9, f" {value}", border=1)
    return top + len(rows) * 9 + 14


def _issuer(pdf: FPDF, certificate: Certificate, width: float, *, top: float) -> None:
    """Who issues it (the seal goes here) and, beside it, the QR code of the verify page."""
    pdf.set_font(FONT_FAMILY, size=12)
    issuer_lines = [
        f"出具单位(盖章): {certificate.issuer_name}",
        f"负责人: {certificate.person_in_charge}",
        f"经办人: {certificate.handling_officer}",
        f"联系电话: {certificate.contact}",
        f"出具日期: {_date(certificate.issued_on)}",
    ]
    for index, line in enumerate(issuer_lines):
        pdf.set_xy(pdf.l_margin, top + index * 8)
        pdf.cell(width - 45, 8, line)

    qr_size = 36
    qr_x = pdf.w - pdf.r_margin - qr_size
    pdf.image(_qr_png(verify_url(certificate)), x=qr_x, y=top - 2, w=qr_size, h=qr_size)
    pdf.set_font(FONT_FAMILY, size=9)
    pdf.set_xy(qr_x - 6, top + qr_size - 1)
    pdf.cell(qr_size + 12, 5, "扫码核验证明真伪", align="C")


def _footer(pdf: FPDF, certificate: Certificate, width: float) -> None:
    pdf.set_font(FONT_FAMILY, size=9)
    pdf.set_text_color(90, 90, 90)
    pdf.set_xy(pdf.l_margin, pdf.h - 32)
    pdf.multi_cell(
        width,
        5,
        "本证明依据《志愿服务条例》和《志愿服务记录与证明出具办法(试行)》出具, 服务时长以组织单位审核通过的"
        f"志愿服务记录为准。核验地址: {verify_url(certificate)}",
        align="L",
    )
