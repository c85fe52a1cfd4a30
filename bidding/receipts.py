"""投标回执: the bid receipt as a sealed PDF (R09, R34) and as a bundle anyone can verify with openssl."""

import io
import json
import zipfile

from django.utils import timezone

from bidding.models import Bid


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " (UTC+8)"


def openssl_commands(bid: Bid) -> list[str]:
    """The two openssl commands that check the receipt's token, with the envelope file or with its digest."""
    return [
        f"openssl ts -verify -data bid-{bid.public_id}.sbe -in receipt.tsr -CAfile certs.pem",
        f"openssl ts -verify -digest {bid.digest} -in receipt.tsr -CAfile certs.pem",
    ]


def _certificate_lines(base_url: str) -> list[str]:
    from timestamps.published import published_certificates

    names = {"tsa": "时间戳证书 TSA certificate", "tsa_ca": "时间戳根证书 TSA root CA",
             "seal_ca": "签章根证书 Seal root CA"}
    return [f"{names[cert.role]}: {base_url}{cert.path}\nSHA-256 {cert.fingerprint}"
            for cert in published_certificates()]


def receipt_pdf(bid: Bid, *, base_url: str) -> bytes:
    from timestamps.stamping import seal_pdf
    from timestamps.tsa import token_info
    from trading.pdf import Heading, KeyValues, Para, pdf_document

    section = bid.section
    info = token_info(bytes(bid.timestamp_token))
    rows = [
        ("回执编号 Bid ID", bid.public_id),
        ("项目 Project", f"{section.project.code} {section.project.name}"),
        ("标段 Section", str(section)),
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
                 "The RFC 3161 timestamp token over the envelope digest can be verified independently."),
            Heading("独立验证 Verify it yourself"),
            Para("下载回执包（receipt.tsr、certs.pem），用投标文件或其摘要执行："
                 "\nWith the receipt bundle (receipt.tsr, certs.pem), run either:\n"
                 + "\n".join(openssl_commands(bid))),
            Para("\n".join(_certificate_lines(base_url))),
            Para(f"在线验证 Online: {base_url}/verify/    "
                 f"离线验证 Offline: python -m timestamps.verify receipt receipt.tsr --digest {bid.digest}"),
        ],
        footer=f"SHA-256 {bid.digest}",
    )
    return seal_pdf(pdf, reason=f"投标回执 {bid.public_id}")


def receipt_bundle(bid: Bid, *, receipt: dict, base_url: str) -> bytes:
    """回执包: receipt.json, receipt.tsr, the TSA chain, the envelope digest and a README, as a zip."""
    from timestamps.published import published_certificates, seal_ca_pem, tsa_chain_pem
    from timestamps.tsa import token_to_response

    commands = openssl_commands(bid)
    fingerprints = "\n".join(f"  {cert.role:8} {base_url}{cert.path}\n           SHA-256 {cert.fingerprint}"
                             for cert in published_certificates())
    readme = f"""投标回执包 Bid receipt bundle — {bid.public_id}

标段 Section: {bid.section}
信封摘要 Envelope SHA-256: {bid.digest}

Files:
  receipt.json   the receipt as the API gives it (bid id, section, receive time, digest, token)
  receipt.tsr    the RFC 3161 timestamp response over the envelope digest
  certs.pem      the TSA certificate and its root CA
  seal-ca.pem    the root CA of the platform's PDF seal
  digest.sha256  the envelope digest, in sha256sum format

Verify the timestamp with the envelope file you submitted (copy it here as bid-{bid.public_id}.sbe):
  {commands[0]}
or with its digest only:
  {commands[1]}
Both must print "Verification: OK".

Check that certs.pem is the platform's published chain:
  openssl x509 -in certs.pem -noout -fingerprint -sha256
{fingerprints}

Or use the offline verifier, or {base_url}/verify/:
  python -m timestamps.verify receipt receipt.json
"""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("receipt.json", json.dumps(receipt, ensure_ascii=False, indent=2) + "\n")
        bundle.writestr("receipt.tsr", token_to_response(bytes(bid.timestamp_token)))
        bundle.writestr("certs.pem", tsa_chain_pem())
        bundle.writestr("seal-ca.pem", seal_ca_pem())
        bundle.writestr("digest.sha256", f"{bid.digest}  bid-{bid.public_id}.sbe\n")
        bundle.writestr("README.txt", readme)
    return out.getvalue()
