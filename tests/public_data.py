"""Paths of the public data sets the tests use (copied into tests/data, see its README)."""

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
#: PSI VIS-SIG "Wonderful Wednesdays" 2021-04-14 sustained-response data (CC0, synthetic).
WWW_SUSTAINED_RESPONSE = DATA / "WWW_SustainedResponse.csv"
