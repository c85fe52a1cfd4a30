"""The evaluation report (评标报告), the award notice (中标通知书) and the result notices (中标结果通知书)."""

from datetime import datetime

from experts.models import Award, Evaluation, Pick
from trading.models import Section
from trading.pdf import Heading, KeyValues, Para, Signatures, Table, pdf_document

SIGNATURE_LABELS = {"agree": "同意", "dissent": "保留意见", "deemed": "未签字且未说明理由，视为同意（R26）"}
METHODS = {"comprehensive": "综合评估法", "lowest_price": "经评审的最低投标价法"}


def _section_meta(section: Section) -> list[tuple[str, str]]:
    return [("项目编号", section.project.code), ("项目名称", section.project.name),
            ("标段", f"第{section.number}标段 {section.title}"), ("招标人", section.project.owner_name),
            ("招标代理", section.project.agency.name)]


def report_pdf(evaluation: Evaluation, members: list[Pick], *, now: datetime) -> bytes:
    section, result = evaluation.section, evaluation.result
    settings = evaluation.price_settings
    blocks = [Heading("一、评标办法"), Para(
        f"评标办法：{METHODS.get(section.evaluation_method, section.evaluation_method)}。"
        + ("评标基准价 = 有效投标报价的算术平均值（有效投标不少于5家时去掉一个最高价和一个最低价）"
           f" × 系数 {settings.get('coefficient')}；报价每高于基准价1%扣 {settings.get('above_per_percent')} 分，"
           f"每低于基准价1%扣 {settings.get('below_per_percent')} 分，扣完为止。"
           if section.evaluation_method == "comprehensive" else "通过评审的投标按报价由低到高排序。")
        + "得分相同时，报价低者优先；报价也相同时，投标文件递交时间早者优先。")]
    if result.get("benchmark"):
        blocks.append(KeyValues([("评标基准价（元）", result["benchmark"])]))
    blocks += [Heading("二、评审结果排序"), Table(
        ["名次", "投标人", "投标报价（元）", "评审得分", "价格得分", "综合得分"],
        [[r["rank"], r["bidder"], r["price"], r["scored"] or "—", r["price_score"] or "—", r["total"] or "—"]
         for r in result["ranking"]], col_widths=[1, 5, 3, 2, 2, 2])]
    if result["rejected"]:
        blocks += [Heading("三、否决投标"), Table(["投标人"], [[r["bidder"]] for r in result["rejected"]])]
    blocks += [Heading("四、推荐的中标候选人（不超过3名，R26）"), Table(
        ["排序", "中标候选人", "投标报价（元）", "综合得分"],
        [[r["rank"], r["bidder"], r["price"], r["total"] or "—"] for r in result["candidates"]],
        col_widths=[1, 6, 3, 2])]
    blocks += [Heading("五、评标委员会成员签署意见"), Table(
        ["席位", "姓名", "专业", "意见", "书面理由"],
        [[m.seat, m.expert.name, m.specialty, SIGNATURE_LABELS.get(m.signature_kind, ""), m.dissent or "—"]
         for m in members], col_widths=[1, 2, 2, 3, 5])]
    leader = next((m.expert.name for m in members if m.pk == evaluation.leader_id), "—")
    blocks += [KeyValues([("评标委员会主任", leader), ("评标开始", f"{evaluation.started_at:%Y-%m-%d %H:%M} UTC")]),
               Signatures([m.expert.name for m in members], caption="评委签字（电子签署）")]
    return pdf_document(title="评标报告", subtitle=f"{section.project.name} · {section.title}",
                        meta=_section_meta(section), blocks=blocks, generated_at=now,
                        footer="本报告由公共资源交易平台电子签章并加盖可信时间戳")


def award_notice_pdf(award: Award, *, now: datetime) -> bytes:
    section, bid = award.section, award.bid
    price = (bid.summary or {}).get("price", "")
    return pdf_document(
        title="中标通知书", subtitle=f"{section.project.name} · {section.title}", meta=_section_meta(section),
        generated_at=now, blocks=[
            Para(f"{bid.organization.name}："),
            Para(f"你方于 {bid.received_at:%Y-%m-%d %H:%M} 递交的{section.project.name}{section.title}投标文件已被确定为中标"
                 f"（中标候选人排序第 {award.rank} 名）。中标价：人民币 {price} 元。"),
            Para("请你方自本通知书发出之日起30日内，按照招标文件和你方投标文件与招标人订立书面合同（R29）。"),
            KeyValues([("中标人", bid.organization.name), ("统一社会信用代码", bid.organization.credit_code),
                       ("中标价（元）", price), ("发出时间", f"{award.awarded_at:%Y-%m-%d %H:%M:%S} UTC")]),
        ], footer="本通知书由公共资源交易平台电子签章并加盖可信时间戳")


def result_notice_pdf(award: Award, bid, *, now: datetime) -> bytes:
    section = award.section
    return pdf_document(
        title="中标结果通知书", subtitle=f"{section.project.name} · {section.title}", meta=_section_meta(section),
        generated_at=now, blocks=[
            Para(f"{bid.organization.name}："),
            Para(f"感谢你方参加{section.project.name}{section.title}的投标。经评标委员会评审、依法公示，"
                 f"本标段中标人为 {award.bid.organization.name}。你方未中标。"),
            Para("投标保证金将依照有关规定退还。"),
            KeyValues([("发出时间", f"{award.awarded_at:%Y-%m-%d %H:%M:%S} UTC")]),
        ], footer="本通知书与中标通知书同时发出（R29）")
