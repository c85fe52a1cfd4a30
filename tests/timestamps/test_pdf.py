"""Official PDF documents: CJK rendering (trading.pdf) and the platform seal (timestamps.docsign, R34)."""

import datetime as dt
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from timestamps.docsign import (
    SignatureReport,
    ensure_signing_keys,
    sign_pdf,
    signing_dir,
    verify_pdf,
)
from timestamps.pki import ensure_tsa_keys
from trading.pdf import Heading, KeyValues, Para, Signatures, Table, pdf_document

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
GENERATED_AT = dt.datetime(2025, 3, 1, 1, 30, 5, tzinfo=dt.UTC)  # 09:30:05 in Shanghai
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
COMPANIES = [
    "北京城建集团有限责任公司",
    "中国建筑第八工程局有限公司",
    "上海建工一建集团有限公司",
    "广州市第二建筑工程有限公司",
    "浙江省建工集团有限责任公司（联合体牵头人）与杭州市城市建设发展集团有限公司组成的联合体",
]

needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdffonts", "pdftotext", "pdftoppm", "pdfsig")),
    reason="poppler-utils not installed",
)


# -- documents ---------------------------------------------------------------------------------


def receipt_pdf() -> bytes:
    return pdf_document(
        title="投标文件递交回执",
        subtitle="回执编号 R-7KQ2-9XHM",
        meta=[
            ("项目名称", "某市第一人民医院门诊综合楼建设工程施工总承包"),
            ("标段", "第一标段（土建） <b>&"),
            ("投标人", "深圳市华建建设集团有限公司"),
        ],
        blocks=[
            Heading("递交信息"),
            KeyValues(
                [
                    ("服务器接收时间", GENERATED_AT),
                    ("投标文件摘要 SHA-256", DIGEST),
                    ("文件大小", "52,428,800 字节"),
                    ("时间戳序列号", "0x3f9a1c2e7b5d4e6f8a0b1c2d3e4f5a6b"),
                ]
            ),
            Heading("说明"),
            Para(
                "本回执证明平台已在上述时间收到该投标文件。摘要已由平台时间戳服务签发 "
                "RFC 3161 时间戳；开标前平台无法解密投标文件。\n"
                "投标截止前，投标人可撤回或重新递交投标文件（R08）。"
            ),
            Table(
                ["序号", "事项", "金额（元）"],
                [
                    [1, "投标报价（密封，开标时公布）", "—"],
                    [2, "投标保证金 <b>&", Decimal("800000.00")],
                ],
            ),
        ],
        footer=f"SHA-256: {DIGEST}",
        generated_at=GENERATED_AT,
    )


def opening_record_pdf() -> bytes:
    rows = [
        [
            i + 1,
            COMPANIES[i % len(COMPANIES)],
            f"{Decimal(12345678) + i * 1357:,.2f}",
            "365",
            "合格" if i % 7 else "保证金未到账，按 R18 处理",
        ]
        for i in range(60)
    ]
    return pdf_document(
        title="开标记录表",
        subtitle="某市轨道交通3号线一期工程 第二标段",
        meta=[
            ("开标时间", "2025-03-01 09:30"),
            ("开标地点", "公共资源交易中心 第3开标室（远程开标）"),
        ],
        blocks=[
            Heading("唱标结果"),
            Table(["序号", "投标人", "投标报价（元）", "工期（日历天）", "备注"], rows),
            Heading("开标会参加人员签字"),
            Signatures(["张三（主持人）", "李四（监督人）", "王五（记录人）", "赵六", "钱七"]),
        ],
        footer=f"记录摘要 SHA-256: {DIGEST}",
        generated_at=GENERATED_AT,
    )


def _poppler(tool: str, *args: str, pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    result = subprocess.run([tool, *args, str(path)], capture_output=True, text=True, check=False)
    return result.stdout + result.stderr


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _squeeze(text: str) -> str:
    """pdftotext drops or adds spaces between CJK glyphs; compare without any."""
    return re.sub(r"\s+", "", text)


def _render_first_page(pdf: bytes, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    prefix = tmp_path / name
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(path),
            str(prefix),
        ],
        check=True,
    )
    png = prefix.with_suffix(".png")
    if os.environ.get("PDF_SCREENSHOTS"):  # PDF_SCREENSHOTS=1 pytest tests/timestamps/test_pdf.py
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, SCREENSHOTS / f"pdf-{name}.png")
    return png


@needs_poppler
@pytest.mark.parametrize("build", [receipt_pdf, opening_record_pdf], ids=["receipt", "table"])
def test_cjk_font_is_embedded_and_the_only_font(build, tmp_path):
    output = _poppler("pdffonts", pdf=build(), tmp_path=tmp_path)
    fonts = output.splitlines()[2:]
    assert fonts, output
    for line in fonts:
        assert "WenQuanYi" in line or "uming" in line.lower(), line
        assert " yes yes yes " in line, line  # embedded, subset, ToUnicode


@needs_poppler
def test_receipt_text_extracts_with_chinese_title_page_numbers_and_footer(tmp_path):
    text = _pdftotext(receipt_pdf(), tmp_path)
    assert "投标文件递交回执" in text
    text = _squeeze(text)
    assert "公共资源交易平台" in text
    assert "第1页/共1页" in text
    assert "生成时间：2025-03-0109:30:05" in text  # shown in Asia/Shanghai
    assert DIGEST in text


@needs_poppler
def test_user_text_with_markup_characters_renders_literally(tmp_path):
    pdf = pdf_document(
        title="标题 <i>x</i> & co",
        meta=[("标段", "<b>&")],
        blocks=[Heading("<h1>"), Para("价格 < 100 & > 50 <br/>"), Table(["<th>"], [["<td>&amp;"]])],
        footer="<footer>&",
    )
    text = _pdftotext(pdf, tmp_path)
    for literal in (
        "标题 <i>x</i> & co",
        "<b>&",
        "<h1>",
        "价格 < 100 & > 50 <br/>",
        "<td>&amp;",
        "<footer>&",
    ):
        assert literal in text


@needs_poppler
def test_long_table_breaks_across_pages_and_repeats_its_header(tmp_path):
    pdf = opening_record_pdf()
    pages = _pdftotext(pdf, tmp_path).split("\f")
    pages = [page for page in pages if page.strip()]
    assert len(pages) >= 3
    total = len(pages)
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页/共{total}页" in _squeeze(page)
    assert all("投标人" in page and "投标报价" in page for page in pages[:2])  # header repeated
    assert "12,425,741.00" in pages[-1] or "12,425,741.00" in pages[-2]  # row 60 is there
    assert "开标记录表" in pages[0]


@needs_poppler
def test_first_pages_render_to_png_also_after_sealing(signed_receipt, tmp_path):
    for name, pdf in (("receipt", signed_receipt), ("table", opening_record_pdf())):
        png = _render_first_page(pdf, tmp_path, name)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 10_000


def test_table_rows_must_match_the_header():
    with pytest.raises(ValueError, match="row 2 has 1 cells"):
        pdf_document(title="x", blocks=[Table(["a", "b"], [["1", "2"], ["3"]])])


# -- the platform seal (R34) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_dirs(tmp_path_factory):
    tsa_dir = tmp_path_factory.mktemp("tsa")
    ensure_tsa_keys(tsa_dir)
    ensure_signing_keys(tsa_dir / "signing")
    return tsa_dir


@pytest.fixture
def keys(settings, key_dirs):
    settings.TSA_DIR = key_dirs
    settings.SIGNING_DIR = None  # the default: TSA_DIR / "signing"
    return key_dirs


@pytest.fixture
def signed_receipt(keys):
    return sign_pdf(receipt_pdf(), reason="投标文件递交回执 <b>&")


def test_signing_dir_defaults_under_the_tsa_dir_and_honours_signing_dir(settings, tmp_path):
    settings.TSA_DIR = tmp_path / "tsa"
    settings.SIGNING_DIR = None
    assert signing_dir() == tmp_path / "tsa" / "signing"
    settings.SIGNING_DIR = tmp_path / "seal"
    assert signing_dir() == tmp_path / "seal"


def test_ensure_signing_keys_is_idempotent_and_keeps_the_key_private(tmp_path):
    ensure_signing_keys(tmp_path)
    before = {
        name: (tmp_path / name).read_bytes()
        for name in ("signing-ca.pem", "signing.pem", "signing.key")
    }
    ensure_signing_keys(tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert (tmp_path / "signing.key").stat().st_mode & 0o077 == 0


def test_r34_sealed_pdf_is_valid_intact_and_timestamped_by_our_tsa(keys, signed_receipt):
    report = verify_pdf(signed_receipt)
    assert report == SignatureReport(
        valid=True,
        intact=True,
        signer="Gongjiao Platform Document Seal",
        signed_at=report.signed_at,
        timestamp_valid=True,
        problems=[],
    )
    assert report.signed_at is not None
    assert abs(report.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=10)


@needs_poppler
def test_r34_poppler_lists_the_platform_seal_with_a_valid_signature(signed_receipt, tmp_path):
    output = _poppler("pdfsig", pdf=signed_receipt, tmp_path=tmp_path)
    assert "Signature Field Name: PlatformSeal" in output
    assert "Gongjiao Platform Document Seal" in output
    assert "ETSI.CAdES.detached" in output
    assert "Total document signed" in output
    assert "Signature Validation: Signature is Valid." in output


@pytest.mark.parametrize("where", ["header comment", "page content stream"])
def test_r34_one_changed_byte_in_the_signed_range_is_detected(keys, signed_receipt, where):
    tampered = bytearray(signed_receipt)
    if where == "header comment":
        offset = tampered.index(b"ReportLab")
    else:
        contents = re.search(rb"/Contents (\d+) 0 R", tampered)
        assert contents
        page_object = tampered.index(b"\n" + contents[1] + b" 0 obj")
        offset = tampered.index(b"stream\n", page_object) + 20
    assert offset < tampered.index(b"/ByteRange")  # inside the first signed range
    tampered[offset] ^= 0x01
    report = verify_pdf(bytes(tampered))
    assert not report.valid
    assert not report.intact
    assert any("altered" in problem for problem in report.problems)


def test_r34_bytes_appended_after_the_seal_make_it_invalid(keys, signed_receipt):
    report = verify_pdf(signed_receipt + b"\n%% appended\n")
    assert not report.valid
    assert any("added after signature" in problem for problem in report.problems)


def test_unsigned_pdf_is_reported_invalid_with_a_clear_problem(keys):
    report = verify_pdf(receipt_pdf())
    assert not report.valid and not report.intact and not report.timestamp_valid
    assert report.problems == ["the PDF carries no signature"]


def test_garbage_is_reported_as_not_a_pdf(keys):
    report = verify_pdf(b"not a pdf at all")
    assert not report.valid
    assert report.problems[0].startswith("not a readable PDF")


def test_r34_a_seal_from_another_key_directory_is_not_trusted(
    keys, settings, signed_receipt, tmp_path
):
    settings.SIGNING_DIR = tmp_path / "other-platform"
    ensure_signing_keys(settings.SIGNING_DIR)
    report = verify_pdf(signed_receipt)  # checked against the other platform's CA
    assert report.intact
    assert not report.valid
    assert any(
        "does not chain to the platform signing CA" in problem for problem in report.problems
    )
