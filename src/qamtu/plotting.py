"""The one matplotlib set-up of qamtu: pyplot on the Agg backend, and an atomic PNG save.

Every module that draws (``report``, ``plan.outputs``, ``audit.outputs``, ``sweep``) gets pyplot from
:func:`pyplot` and writes figures with :func:`save_png`, so that no run needs a display and no reader ever sees a
half-written image (the file is written under a temporary name and renamed, see :func:`qamtu.fileio.atomic_write`).
matplotlib is imported on first use: ``import qamtu`` stays light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from qamtu.fileio import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display needed), imported on first use."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 110, tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically (a temporary name, then a rename) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
        The PNG file; its folder must exist.
    dpi : int, default 110
    tight : bool, default True
        Crop the white border (``bbox_inches="tight"``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    out = Path(path)
    try:
        with atomic_write(out) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    finally:
        pyplot().close(fig)
    return out
