"""What evaluation and the award put in a section's archive (电子档案)."""

import json

from experts.models import Award, Evaluation, Publicity
from trading.models import Section


def section_archive_files(*, section: Section) -> list[tuple[str, bytes | str, str | None]]:
    """The evaluation report, the candidates' publicity, the award and result notices, and the contract."""
    files: list[tuple[str, bytes | str, str | None]] = []
    evaluation = Evaluation.objects.filter(section=section).first()
    if evaluation is not None and evaluation.report_path:
        files.append(("evaluation/report.pdf", evaluation.report_path, evaluation.report_sha256 or None))
    publicity = Publicity.objects.filter(section=section).first()
    if publicity is not None:
        files.append(("award/publicity.json", _json({
            "starts_at": publicity.starts_at.isoformat(), "ends_at": publicity.ends_at.isoformat(),
            "candidates": publicity.candidates}), None))
    award = Award.objects.filter(section=section).select_related("bid").first()
    if award is None:
        return files
    files.append(("award/award-notice.pdf", award.notice_path, award.notice_sha256 or None))
    for notice in award.result_notices.select_related("bid").order_by("pk"):
        files.append((f"award/result-notice-{notice.bid.public_id}.pdf", notice.path, notice.sha256 or None))
    files.append(("award/contract.json", _json({
        "bid": award.bid.public_id, "awarded_at": award.awarded_at.isoformat(),
        "contract_signed_at": award.contract_signed_at.isoformat() if award.contract_signed_at else None,
        "contract_amount": str(award.contract_amount) if award.contract_amount is not None else None}), None))
    return files


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()
