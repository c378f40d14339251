"""A ``PSOTRACK_`` setting the settings refuse is one line per variable and exit code 2."""

from __future__ import annotations

import pytest

from psotrack.cli import main


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("PSOTRACK_THREADS", "0", "greater than or equal to 1"),
        ("PSOTRACK_THREADS", "٣", "a valid integer"),  # an Arabic-Indic three: ASCII digits only
        ("PSOTRACK_WARM_STATUSES", "99999", "less than or equal to 4096"),
        ("PSOTRACK_WARM_EVERY_MS", "60001", "less than or equal to 60000"),
        ("PSOTRACK_WARM_EVERY_MS", "-1", "greater than or equal to 0"),
        ("PSOTRACK_SESSION_MINUTES", "1", "greater than or equal to 5"),
    ],
)
def test_a_refused_setting_is_named_with_its_value(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    allowed: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["serve", "--port", "8799"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {variable}={value!r}: ") and allowed in line
