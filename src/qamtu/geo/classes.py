"""The environment classes of a study area's pixels (one home, imported by the density rule in
:mod:`qamtu.geo.area`, the land-cover rule in :mod:`qamtu.geo.landcover` and the engine's per-class profiles)."""

from __future__ import annotations

__all__ = ["ENV_CLASSES", "ENV_CODES"]

#: Environment classes, indexed by their int8 code 0..3 in ``StudyArea.env_class``.
ENV_CLASSES: tuple[str, ...] = ("dense_urban", "urban", "suburban", "rural")
#: Name -> code.
ENV_CODES: dict[str, int] = {name: i for i, name in enumerate(ENV_CLASSES)}
