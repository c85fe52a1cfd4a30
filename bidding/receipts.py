"""投标回执: the bid receipt as a PDF with embedded CJK fonts, sealed by the platform (R09, R34)."""

from django.utils import timezone

from bidding.models import Bid


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " (UTC+8)"


def receipt_pdf(bid: Bid) -> bytes:
    from timestamps.stamping import seal_pdf
    from timestamps.tsa import token_info
    from trading.pdf import Heading, KeyValues, Para, pdf_document

    section = bid.section
    info = token_info(bytes(bid.timestamp_token))
    rows = [
        ("回执编号 Bid ID", bid.public_id),
        ("项目 Project", f"{section.project.code} {section.project.name}"),
        ("标段 Section", f"{section.public_id} {section.title}"),
        ("投标人 Bidder", f"{bid.organization.name}（{bid.organization.credit_code}）"),
        ("接收时间 Received at", _local(bid.received_at)),
        ("投标截止时间 Deadline", _local(section.bid_deadline)),
        ("文件大小 Size", f"{bid.size:,} bytes"),
        ("信封摘要 SHA-256", bid.digest),
        ("签名公钥 Signing key", bid.sign_kid),
        ("开标公钥 Opening key", bid.opening_kid),
        ("时间戳时间 Timestamp", _local(info["gen_time"])),
        ("时间戳序列号 Serial", str(info["serial"])),
    ]
    pdf = pdf_document(
        title="投标文件接收回执",
        subtitle="Bid receipt",
        blocks=[
            KeyValues(rows),
            Heading("说明 Notes"),
            Para("本回执证明平台已在上述时间完整接收该加密投标文件。平台在开标前无法解密投标文件。"
                 "时间戳令牌（RFC 3161）对信封摘要加盖时间，可用 openssl ts -verify 独立验证。"),
            Para("This receipt proves the platform received the sealed bid in full at the time shown. "
                 "The RFC 3161 timestamp token over the envelope digest can be verified independently "
                 "with openssl ts -verify -data bid.sbe -in receipt.tsr -CAfile certs.pem."),
        ],
        footer=f"SHA-256 {bid.digest}",
    )
    return seal_pdf(pdf, reason=f"投标回执 {bid.public_id}")
