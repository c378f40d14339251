"""The patient progress report: its charts and photos, its view, and the HTML or PDF of it.

Built from :class:`~psotrack.services.patient_report.PatientReport` only: every number printed
is one the services or the endpoint engine gave (the status sentence, the per-visit change and
response of :attr:`PatientStatus.rows`, the scores as the instruments scored them, the region
items and points as :func:`~psotrack.services.scoring.score_responses` scored them). In steps, so
that the slow part can be timed: :func:`draw_patient_figures` (charts, reduced photos),
:func:`patient_view` (the text printed), then :func:`render_patient_html` or
:func:`render_patient_pdf`.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Final

from PIL import Image

from psotrack.endpoints import DEFAULT_THRESHOLDS
from psotrack.instruments.pasi import SIGN_MAX
from psotrack.number_text import scientific
from psotrack.reports.document import (
    MEASUREMENT_NOTE,
    ReportFormat,
    image_uri,
    render_html,
    typst_pdf,
)
from psotrack.reports.figures import SCORES, lab_chart, score_chart
from psotrack.reports.pasi_grid import pasi_grid
from psotrack.reports.view import DASH, Images, decimal_text, percent_text, table, text
from psotrack.services.patient_report import (
    PasiVisit,
    PatientReport,
    ReportCopy,
    ReportPhoto,
    pasi_change,
)

#: Longest side of a photo in the report, in pixels (about 10 cm at 200 dpi: sharp in print,
#: and a 10-photo report stays small).
PHOTO_PIXELS: Final = 800
TITLE: Final = "Patient progress report"
#: What each score means, printed in the footer (ranges as the instruments define them).
SCORE_MEANINGS: Final = (
    (
        "PASI",
        "Psoriasis Area and Severity Index, 0–72: redness, thickness and scaling (each "
        f"0–{SIGN_MAX}) and area (0–6) of four body regions; lower is better. PASI 75 means a "
        "PASI at least 75 % below the baseline (the last PASI on or before day 0); PASI 50 and "
        "90 alike.",
    ),
    ("BSA", "Body surface area with psoriasis, 0–100 %."),
    (
        "PGA",
        "Physician's Global Assessment, 0 (clear) to 4 (severe), or 0–5 on the 6-point scale; "
        "PGA 0/1 means clear or almost clear.",
    ),
    (
        "DLQI",
        "Dermatology Life Quality Index, 0–30: how much the skin affected life in the last "
        "week; 0–1 means no effect.",
    ),
    ("Itch", "Itch numeric rating scale, 0 (no itch) to 10 (worst imaginable)."),
    (
        "Study day",
        "Days since the first cell-therapy administration (day 0); negative days are before it.",
    ),
)
_DATE_TIME: Final = "%Y-%m-%d %H:%M UTC"
#: What the patient's own copy says it leaves out (:mod:`psotrack.services.own_report`).
PATIENT_COPY: Final = (
    "the patient's own, without MRN, photos, open safety flags or the care team's written "
    "notes (visit names, verbatim terms, lot numbers)"
)
#: In place of an empty list: none recorded, or (the patient's copy) not in this copy.
NO_FLAGS: Final = {
    ReportCopy.CARE_TEAM: "No open safety flag.",
    ReportCopy.PATIENT: "Safety flags are the care team's work list: they are not in your copy.",
}
NO_PHOTOS: Final = {
    ReportCopy.CARE_TEAM: "No photos were taken: the mirror is omitted.",
    ReportCopy.PATIENT: "Photos are not in your copy: your care team can show them to you.",
}


def draw_patient_figures(report: PatientReport) -> Images:
    """Draw every chart of ``report`` and reduce its photos to :data:`PHOTO_PIXELS`."""
    images = Images()
    for name in SCORES:
        size = "wide" if name == "pasi" else "half"
        chart = score_chart(report.scores, name, baseline_pasi=report.baseline_pasi, size=size)
        images.add_svg(name, chart)
    for lab in report.labs:
        chart = lab_chart(lab.results, name=lab.name, unit=lab.unit, size="half")
        images.add_svg(f"lab-{lab.analyte}", chart)
    if report.baseline is not None or report.latest is not None:
        grid = pasi_grid(
            report.region_rows(),
            baseline_label=_visit_heading("Baseline", report.baseline),
            latest_label=_visit_heading("Latest", report.latest),
        )
        images.add_svg("regions", grid)
    for site in report.photos:
        for photo in (site.first, site.latest):
            if photo is not None and (reduced := _reduced(photo)) is not None:
                images.add_photo(f"photo-{photo.id}", *reduced)
    return images


def _visit_heading(which: str, visit: PasiVisit | None) -> str:
    if visit is None:
        return f"{which}: none"
    return f"{which} ({visit.visit_label}, day {visit.day})"


def _reduced(photo: ReportPhoto) -> tuple[bytes, str] | None:
    """The photo as stored when small enough, else a JPEG of :data:`PHOTO_PIXELS` a side."""
    if photo.content is None or photo.media_type is None:
        return None
    with Image.open(io.BytesIO(photo.content)) as image:
        if max(image.size) <= PHOTO_PIXELS and photo.media_type in ("image/jpeg", "image/png"):
            return photo.content, photo.media_type
        image.draft("RGB", (PHOTO_PIXELS, PHOTO_PIXELS))  # a JPEG decodes at 1/2, 1/4 … size
        image.thumbnail((PHOTO_PIXELS, PHOTO_PIXELS))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=82)
    return buffer.getvalue(), "image/jpeg"


def patient_view(
    report: PatientReport, images: Images, *, generated_at: datetime
) -> dict[str, Any]:
    """Everything the report prints, as text (see :mod:`psotrack.reports.view`)."""
    overview = report.overview
    status = overview.status
    return {
        "title": TITLE,
        "data_label": report.data_label,
        "generated_at": generated_at.isoformat(),
        "generated": generated_at.strftime(_DATE_TIME),
        "measurement_note": MEASUREMENT_NOTE,
        "facts": _facts(report),
        "status": status.sentence,
        "baseline_note": _baseline_note(report.baseline_pasi),
        "charts": {name: f"{name}.svg" for name in SCORES},
        "visits": _visit_table(report),
        "regions": _regions(report, images),
        "mirror": _mirror(report, images),
        "labs": _labs(report, images),
        "flags": [
            f"{a.kind}: {a.message} (raised {a.raised_at.date()}"
            + (f"; report due {a.due_date})" if a.due_date else ")")
            for a in overview.alerts
        ],
        "flags_empty": NO_FLAGS[report.copy],
        "adverse_events": _adverse_events(report),
        "administrations": _administrations(report),
        "meanings": [list(pair) for pair in SCORE_MEANINGS],
    }


def _facts(report: PatientReport) -> list[list[str]]:
    overview = report.overview
    timeline = overview.timeline
    identity = timeline.identity
    enrollment = overview.current_enrollment
    facts = []
    if identity is not None:
        facts.append(["Patient", f"{identity.family_name}, {identity.given_name}", "patient-name"])
        if report.copy is ReportCopy.CARE_TEAM:  # the own-record page shows no MRN either
            facts.append(["MRN", identity.mrn, "mrn"])
    program = overview.programs.get(enrollment.program_id) if enrollment else None
    enrolled = f"{enrollment.start_date} ({enrollment.status.value})" if enrollment else None
    latest = timeline.visits[-1].visit_date if timeline.visits else None
    facts += [
        ["Research id", timeline.patient.research_id, "research-id"],
        ["Program", text(program), "program"],
        ["Enrolled", text(enrolled), "enrolled"],
        ["Day 0 (first administration)", text(timeline.day_zero), "day-zero"],
        ["Latest visit", text(latest), "latest-visit"],
        ["Administrations", str(report.administrations), "administration-count"],
        ["Total dose", f"{scientific(report.total_cells_per_kg)} cells/kg", "total-dose"],
    ]
    if report.copy is ReportCopy.PATIENT:
        facts.append(["Copy", PATIENT_COPY, "copy"])
    return facts


def _baseline_note(baseline: float | None) -> str:
    if baseline is None:
        return (
            "No baseline PASI (none on or before day 0): changes from baseline and PASI "
            "50/75/90 cannot be given."
        )
    return (
        f"Baseline PASI {decimal_text(baseline)}; the lines on the PASI chart mark PASI 50, 75 "
        "and 90 (50 %, 25 % and 10 % of the baseline)."
    )


def _reached(row: dict[str, Any]) -> str:
    """The highest PASI response the engine flagged at this visit (a dash when none)."""
    for threshold in sorted(DEFAULT_THRESHOLDS, reverse=True):
        if row.get(f"pasi{threshold}") == 1:
            return f"PASI {threshold}"
    return DASH


def _visit_table(report: PatientReport) -> dict[str, Any]:
    rows = report.overview.status.rows.drop("pasi")
    joined = report.scores.join(rows, on=["visit", "day"], how="left").sort("day")
    return table(
        "visit-table",
        ("Visit", "Study day", "PASI", "Change from baseline", "Response reached", "BSA (%)",
         "PGA", "DLQI", "Itch"),
        (
            (r["visit"], r["day"], r["pasi"], percent_text(r["pchg"]), _reached(r), r["bsa"],
             r["pga"], r["dlqi"], r["itch"])
            for r in joined.to_dicts()
        ),
        empty="No score recorded yet.",
        numeric=(1, 2, 3, 5, 6, 7, 8),
        note=(
            "Change from baseline and the response reached at each visit are the endpoint "
            "engine's (PASI 75: at least 75 % below the baseline PASI, computed exactly in "
            "tenths)."
        ),
    )  # fmt: skip


def _regions(report: PatientReport, images: Images) -> dict[str, Any] | None:
    if "regions.svg" not in images.files:
        return None
    items = ("erythema", "induration", "desquamation", "area", "contribution")
    rows = [
        (r["name"], *(f"{text(r['base_' + i])} → {text(r['latest_' + i])}" for i in items))
        for r in report.region_rows().to_dicts()
    ]
    base, latest = report.baseline, report.latest
    change = pasi_change(base, latest)
    total = f"{text(base.pasi if base else None)} → {text(latest.pasi if latest else None)}"
    if change is not None:
        total += f" ({decimal_text(float(change))} points)"
    rows.append(("PASI total", "", "", "", "", total))
    return {
        "chart": "regions.svg",
        "table": table(
            "region-table",
            ("Region (baseline → latest)", "Erythema", "Thickness", "Scaling", "Area",
             "Points of PASI"),
            rows,
            empty="",
            numeric=(1, 2, 3, 4, 5),
            note=(
                f"Baseline: {_visit_text(base, 'no PASI form at baseline')}; latest: "
                f"{_visit_text(latest, 'no PASI form after day 0')}. Grades 0–4 (none to very "
                "marked); area score 0–6 (0 %, under 10 %, 10–29 %, 30–49 %, 50–69 %, 70–89 %, "
                "90–100 % of the region)."
            ),
        ),
    }  # fmt: skip


def _visit_text(visit: PasiVisit | None, missing: str) -> str:
    if visit is None:
        return missing
    return f"{visit.visit_label}, {visit.visit_date} (day {visit.day})"


def _mirror(report: PatientReport, images: Images) -> dict[str, Any]:
    sites = []
    for site in report.photos:
        photos = []
        for photo in (site.first, site.latest):
            if photo is None:
                continue
            file = next((f for f in images.files if f.startswith(f"photo-{photo.id}.")), None)
            day = f" · day {photo.day}" if photo.day is not None else ""
            caption = f"{photo.visit_label} · {photo.visit_date}{day} · {photo.view}"
            photos.append({"file": file, "caption": caption})
        note = "Photographed at one visit only." if site.latest is None else ""
        sites.append({"site": site.body_site, "photos": photos, "note": note})
    more = report.sites_not_shown
    return {
        "sites": sites,
        "empty": NO_PHOTOS[report.copy],
        "more": f"{more} more body site{'' if more == 1 else 's'} photographed; not shown here."
        if more
        else "",
        "unreadable": "The file of this photo could not be read.",
    }


def _labs(report: PatientReport, images: Images) -> dict[str, Any]:
    overview = report.overview
    charts = []
    for lab in report.labs:
        caption = ""
        if lab.other_units:
            others = ", ".join(lab.other_units)
            caption = f"Results in {others} are not drawn (only {lab.unit}, the latest unit)."
        charts.append({"file": f"lab-{lab.analyte}.svg", "caption": caption, "name": lab.name})
    rows = (
        (
            lab.sampled_at.date(),
            overview.study_day(lab.sampled_at.date()),
            overview.analytes.get(lab.analyte, lab.analyte),
            lab.value,
            lab.unit,
            _range(lab.reference_low, lab.reference_high),
        )
        for lab in overview.timeline.labs
    )
    return {
        "charts": charts,
        "empty": "No immune lab results recorded.",
        "table": table(
            "lab-table",
            ("Sampled", "Study day", "Analyte", "Value", "Unit", "Reference range"),
            rows,
            empty="",
            numeric=(1, 3),
        ),
    }


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return DASH
    return f"{'' if low is None else low}–{'' if high is None else high}"


def _adverse_events(report: PatientReport) -> dict[str, Any]:
    def serious(ae: Any) -> str:
        if not ae.serious:
            return "no"
        return f"yes ({', '.join(ae.serious_criteria)})" if ae.serious_criteria else "yes"

    return table(
        "adverse-events",
        ("Onset", "Term", "CTCAE grade", "Serious", "Relatedness", "Outcome", "Resolved"),
        (
            (ae.onset_date, ae.term.value, ae.grade, serious(ae), ae.relatedness.value,
             ae.outcome.value, ae.resolution_date)
            for ae in report.overview.timeline.adverse_events
        ),
        empty="None reported.",
        numeric=(2,),
    )  # fmt: skip


def _administrations(report: PatientReport) -> dict[str, Any]:
    overview = report.overview
    return table(
        "administrations",
        ("Date", "Study day", "Product", "Lot", "Route", "Cells/kg", "Viability (%)"),
        (
            (a.started_at.date(), overview.study_day(a.started_at.date()), a.product_source.value,
             a.lot, a.route.value, scientific(a.cells_per_kg), a.viability_pct)
            for a in overview.timeline.administrations
        ),
        empty="No administration recorded.",
        numeric=(1, 5, 6),
    )  # fmt: skip


def render_patient_html(view: dict[str, Any], images: Images) -> str:
    """The report as one self-contained HTML document (images as ``data:`` URIs)."""
    uris = {name: image_uri(content, media) for name, (content, media) in images.files.items()}
    return render_html("patient_report.html", {**view, "v": view, "uri": uris})


def render_patient_pdf(view: dict[str, Any], images: Images) -> bytes:
    """The report as PDF, drawn by Typst from the same view."""
    return typst_pdf("patient_report.typ", view, images.contents())


def patient_document(report: PatientReport, fmt: ReportFormat, *, generated_at: datetime) -> bytes:
    """The report file's content in ``fmt``: figures, view, then HTML or PDF."""
    images = draw_patient_figures(report)
    view = patient_view(report, images, generated_at=generated_at)
    if fmt is ReportFormat.HTML:
        return render_patient_html(view, images).encode("utf-8")
    return render_patient_pdf(view, images)
