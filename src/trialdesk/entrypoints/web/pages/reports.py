"""The report pages: the DSMB safety report and the trial report at a data cut-off, each an HTML preview
with its PDF download.

Both call the services of ``trialdesk report`` and the JSON API (reading either is audited as an
export there): :func:`trialdesk.services.safety_report.report_for` and
:func:`trialdesk.services.reporting.trial_report` / :func:`~trialdesk.services.reporting.
trial_report_content`. The preview lays out the same report outline as the PDF: tables as HTML, the
figures (CONSORT, Kaplan-Meier) as PNG images in ``data:`` URIs (same origin, nothing to fetch).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from trialdesk.adapters.report.content import FigureBlock, NoteBlock, ReportContent, Section
from trialdesk.adapters.report.safety_report import render_safety_report, safety_document
from trialdesk.adapters.report.style import report_style
from trialdesk.adapters.report.tables import Table, group_label
from trialdesk.domain.protocol.model import Protocol
from trialdesk.entrypoints.api.deps import ProtocolDep, run
from trialdesk.entrypoints.web.i18n import Translator
from trialdesk.entrypoints.web.pages.safety import page_frame
from trialdesk.entrypoints.web.render import FormErrors, language_of, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import clock, safety_report
from trialdesk.services.actors import Actor
from trialdesk.services.errors import TRIAL_ERRORS, InvalidInput
from trialdesk.services.odm_export import odm_export
from trialdesk.services.reporting import trial_report, trial_report_content

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)

PREVIEW_FIGURES = ("CONSORT flow diagram", "Progression-free survival", "Overall survival")
"""The trial report's sections shown with their figures in the page preview."""
PREVIEW_SECTIONS = (*PREVIEW_FIGURES, "Tumour response")
"""The trial report's sections shown in the page preview (the PDF has every section)."""
FIGURE_RECT = (0.1, 0.1, 0.96, 0.93)
"""Where a stand-alone figure's axes sit (as in the HTML report)."""
PNG_DPI = 110


@dataclass(frozen=True)
class PreviewBlock:
    """One block of a preview section: a table, a figure (PNG ``data:`` URI) or a note."""

    kind: Literal["table", "figure", "note"]
    table: Table | None = None
    image: str = ""
    caption: str = ""
    text: str = ""


@dataclass(frozen=True)
class PreviewSection:
    """A section of the report as the page shows it."""

    title: str
    blocks: list[PreviewBlock]


def png_data_uri(block: FigureBlock) -> str:
    """The figure drawn as a PNG in a ``data:`` URI."""
    with report_style():
        figure = block.build(block.size, FIGURE_RECT, None)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=PNG_DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def preview_block(block: Table | FigureBlock | NoteBlock, *, figures: bool) -> PreviewBlock | None:
    """A report block for the page (figures only when ``figures``)."""
    if isinstance(block, Table):
        return PreviewBlock("table", table=block)
    if isinstance(block, NoteBlock):
        return PreviewBlock("note", text=block.text)
    if figures:
        return PreviewBlock("figure", image=png_data_uri(block), caption=block.caption)
    return None


def preview_sections(
    sections: list[Section], *, only: tuple[str, ...] = (), figures: tuple[str, ...] = ()
) -> list[PreviewSection]:
    """The report's sections (those titled in ``only``, when given) as page blocks, with the figures
    of the sections titled in ``figures``."""
    out = []
    for section in sections:
        if only and section.title not in only:
            continue
        drawn = section.title in figures
        blocks = [b for b in (preview_block(x, figures=drawn) for x in section.blocks) if b is not None]
        out.append(PreviewSection(section.title, blocks))
    return out


def parse_cutoff(value: str | None) -> dt.date | None:
    """The ``cutoff`` query value as a date (``InvalidInput`` on the field when it is not ISO 8601)."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date (YYYY-MM-DD)", field="cutoff") from None


def consort_counts(content: ReportContent, tr: Translator) -> dict[str, list[Any]]:
    """The CONSORT counts in words (``totals``) and per phase/arm group (``arms``: label, allocated,
    treated, on treatment, died, analysed), beside the diagram."""
    consort = content.snapshot.consort
    protocol = content.snapshot.protocol
    totals = [
        (tr.gettext("Screened"), consort.screened),
        (tr.gettext("Screen failures"), consort.screen_failed),
        (tr.gettext("Still screening"), consort.still_screening),
        (tr.gettext("Enrolled"), consort.enrolled),
    ]
    arms = [
        (group_label(protocol, a.phase_id, a.arm), a.allocated, a.treated, a.ongoing, a.died, a.analysed)
        for a in consort.arms
    ]
    return {"totals": totals, "arms": arms}


def _cutoff_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    cutoff_text: str,
    error: Exception | None,
) -> HTMLResponse:
    errors = FormErrors.from_error(error, fields={"cutoff"}) if isinstance(error, TRIAL_ERRORS) else None
    context.update(
        values={"cutoff": cutoff_text},
        errors=errors.by_field if errors else {},
        today=clock.today().isoformat(),
    )
    return render(request, template, context, status_code=errors.status_code if errors else 200)


# ---- safety report --------------------------------------------------------------------------------


def _safety_document(
    request: Request, actor: Actor, protocol: Protocol, cutoff: dt.date | None, fmt: str
) -> dict[str, Any]:
    document: dict[str, Any] = run(
        request, actor.username, lambda s: safety_report.report_for(s, actor, protocol, fmt, cutoff)
    )
    return document


@router.get("/trials/{protocol_id}/safety-report", response_class=HTMLResponse)
def safety_report_page(
    request: Request, actor: PageActor, protocol: ProtocolDep, cutoff: str | None = None
) -> HTMLResponse:
    """The DSMB safety report at the cut-off (default today) as a page, with the PDF link."""
    context = page_frame(request, actor, protocol, "safety-report")
    context.update(document=None, sections=[], cutoff="")
    error: Exception | None = None
    try:
        report = _safety_document(request, actor, protocol, parse_cutoff(cutoff), "html")
        document = safety_document(report, protocol)
        context.update(
            document=document, sections=preview_sections(document.sections), cutoff=report["cutoff"]
        )
    except InvalidInput as exc:
        error = exc
    return _cutoff_page(request, "reports/safety_report.html", context, cutoff or context["cutoff"], error)


@router.get("/trials/{protocol_id}/safety-report.pdf")
def safety_report_pdf(
    request: Request, actor: PageActor, protocol: ProtocolDep, cutoff: str | None = None
) -> Response:
    """The safety report as a PDF download (the same document as ``GET .../safety-report?format=pdf``)."""
    report = _safety_document(request, actor, protocol, parse_cutoff(cutoff), "pdf")
    name = f"{protocol.id}-safety-report-{report['cutoff']}.pdf"
    return Response(
        render_safety_report(report, protocol, "pdf"),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---- trial report ---------------------------------------------------------------------------------


@router.get("/trials/{protocol_id}/report", response_class=HTMLResponse)
def trial_report_page(
    request: Request, actor: PageActor, protocol: ProtocolDep, cutoff: str | None = None
) -> HTMLResponse:
    """The trial report's preview at the cut-off: CONSORT, Kaplan-Meier plots of PFS and OS, the
    response (ORR) table; the whole report is the PDF download."""
    tr = Translator(language_of(request))
    context = page_frame(request, actor, protocol, "report")
    context.update(document=None, sections=[], cutoff="", consort={})
    error: Exception | None = None
    try:
        when = parse_cutoff(cutoff)
        content = run(
            request, actor.username, lambda s: trial_report_content(s, actor, protocol, "preview", when)
        )
        context.update(
            document=content.document(),
            sections=preview_sections(content.sections, only=PREVIEW_SECTIONS, figures=PREVIEW_FIGURES),
            cutoff=content.snapshot.cutoff.isoformat(),
            consort=consort_counts(content, tr),
        )
    except InvalidInput as exc:
        error = exc
    return _cutoff_page(request, "reports/trial_report.html", context, cutoff or context["cutoff"], error)


@router.get("/trials/{protocol_id}/report.pdf")
def trial_report_pdf(
    request: Request, actor: PageActor, protocol: ProtocolDep, cutoff: str | None = None
) -> Response:
    """The trial report as a PDF download (the same service as ``trialdesk report`` and the API)."""
    when = parse_cutoff(cutoff)
    content = run(request, actor.username, lambda s: trial_report(s, actor, protocol, "pdf", when))
    day = (when or clock.today()).isoformat()
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="report-{protocol.id}-{day}.pdf"'},
    )


@router.get("/trials/{protocol_id}/odm.xml")
def odm_copy(
    request: Request,
    actor: PageActor,
    protocol: ProtocolDep,
    site: str | None = Query(None, min_length=1, max_length=64, description="One site's copy, by code"),
) -> Response:
    """The trial's data with its audit trail as CDISC ODM 1.3.2, the copy an investigator holds of the
    site's data (coordinators and investigators: their own site only, ``site`` naming one when they
    work at several; monitors, data managers and statisticians: every site, or ``site``). The same
    service as ``trialdesk export odm`` and the API; audited."""
    result = run(
        request,
        actor.username,
        lambda s: odm_export(s, actor, protocol, site_code=site, with_audit=True),
        write=True,
    )
    name = f"{protocol.id}-{result.site or 'all-sites'}-{clock.today().isoformat()}.odm.xml"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(result.content, media_type="application/xml", headers=headers)
