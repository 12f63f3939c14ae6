"""kubectl's durations: the rules live in api/duration.py (L0), where the daemon's server-side
Tables use them too; the printers keep importing them from here."""
from podrun.api.duration import (age, docker_human_duration, human_duration,  # noqa: F401
                                 short_human_duration, timestamp)

__all__ = ["human_duration", "short_human_duration", "docker_human_duration", "age", "timestamp"]
