"""REDCap's raw dates: ``read_date`` reads exactly what ``strptime`` reads in its three formats.

The reference is the rule as the module states it (a REDCap date, or date and time, by strptime);
the fast path for padded dates must not change which texts are read or to what.
"""

from datetime import date, datetime

import pytest

from psotrack.services.redcap_entries import read_date


def reference(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-08",
        "2024-1-8",  # strptime reads unpadded months and days
        "2024-02-29",
        "2023-02-29",  # not a date
        "2024-13-01",
        "0000-01-01",
        "9999-12-31",
        "20240108",  # date.fromisoformat would read this; REDCap's format does not
        "2024-W02-1",
        "2024-01-08 13:45",
        "2024-01-08 13:45:09",
        "2024-01-08T13:45",
        " 2024-01-08",
        "2024-01-08 ",
        "٢٠٢٤-٠١-٠٨",  # other scripts' digits
        "",
    ],
)
def test_read_date_reads_what_the_redcap_formats_read(text):
    found: list = []
    assert read_date("visit_date", text, found) == reference(text)
    if reference(text) is None:
        (problem,) = found
        assert (problem.field, problem.value) == ("visit_date", text)
    else:
        assert found == []


@pytest.mark.parametrize("text", ["٢٠٢٤-٠١-٠٨", "20240108", "2024-02-30", "2024-01-08T13:45"])
def test_dates_outside_the_format_are_refused(text):
    found: list = []
    assert read_date("visit_date", text, found) is None
    assert "YYYY-MM-DD" in found[0].allowed
