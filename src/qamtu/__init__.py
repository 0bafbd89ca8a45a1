"""qamtu (Kazakh "coverage"): plan, schedule and audit the 5G rollout of Kazakhstan's regional centres.

Layers (imports point one way)::

    cli/report -> rollout/plan/audit -> engine -> geo -> radio -> units/errors
"""

__version__ = "0.1.0"

from qamtu.errors import (  # noqa: F401
    DataFileError,
    InfeasibleError,
    InvalidInputError,
    OutOfRangeError,
    QamtuError,
)
