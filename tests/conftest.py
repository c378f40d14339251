"""Shared test settings: hypothesis profiles tuned for a 2-core shared machine."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")
