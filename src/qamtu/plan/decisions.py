"""People decide, on the record: a decisions file the re-plan honours, and what overruling the optimiser cost.

A decisions file is a CSV, one row per decision:

==============  ========  ===============================================================================
column          required  meaning
==============  ========  ===============================================================================
``site_id``     yes       a candidate site id
``decision``    yes       ``accept`` (keep the site in the plan: built), ``lock`` (build it, whatever the
                          optimiser says) or ``reject`` (never build it)
``reason``      yes       why, in words (non-empty: a decision without a reason is not on the record)
``who``         yes       who decided (name or role)
``date``        yes       when, YYYY-MM-DD
``city``        no        catalogue city id (``national``: which city's plan the row belongs to)
==============  ========  ===============================================================================

``accept`` and ``lock`` both make the site a locked-in candidate for the re-plan; ``reject`` rules it out. The
later row wins when a site appears twice (a decision can be revised; both rows stay in the record). Every error
names the file, the 1-based data row and the field.

:func:`overrule_table` compares the plan with the decisions against the optimiser's own plan on the same inputs
(no decisions): which decisions overruled the optimiser (a lock/accept of a site it did not choose, a reject of one
it chose) and what that cost in sites, cost and covered shares.
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from qamtu.errors import DataFileError, InvalidInputError, where

if TYPE_CHECKING:
    from qamtu.engine import EngineConfig
    from qamtu.geo import StudyArea
    from qamtu.plan.demand import DemandModel
    from qamtu.plan.planner import Plan
    from qamtu.plan.problem import Targets

__all__ = ["DECISION_VALUES", "read_decisions", "apply_decisions", "overrule_table", "decision_records",
           "plan_with_decisions"]

DECISION_VALUES = ("accept", "lock", "reject")
_REQUIRED = ("site_id", "decision", "reason", "who", "date")


def read_decisions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a decisions file (module docstring); rows in file order, ``row`` = 1-based data row."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise DataFileError(f"{p}: decisions file not found")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises several parser errors
        raise DataFileError(f"{p}: not a readable CSV ({exc})") from exc
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise InvalidInputError(f"{p}: missing column(s) {', '.join(missing)}; a decisions file needs "
                                f"{', '.join(_REQUIRED)} (optional: city)")
    out = df.copy()
    for c in out.columns:
        out[c] = out[c].astype(str).str.strip()
    for i, rec in enumerate(out.to_dict("records"), start=1):
        for col in ("site_id", "reason", "who"):
            if not rec[col]:
                raise InvalidInputError(f"{where(p, i, col)}: is empty; every decision needs a {col}")
        dec = rec["decision"].lower()
        if dec not in DECISION_VALUES:
            raise InvalidInputError(f"{where(p, i, 'decision')}: is {rec['decision']!r}; allowed: "
                                    f"{', '.join(DECISION_VALUES)}")
        try:
            _dt.date.fromisoformat(rec["date"])
        except ValueError:
            raise InvalidInputError(f"{where(p, i, 'date')}: is {rec['date']!r}; expected a date YYYY-MM-DD") from None
    out["decision"] = out["decision"].str.lower()
    if "city" not in out.columns:
        out["city"] = ""
    out.insert(0, "row", range(1, len(out) + 1))
    out["source"] = p
    return out


def apply_decisions(candidates: pd.DataFrame, decisions: pd.DataFrame, source: str = "decisions") -> pd.DataFrame:
    """The candidate table with the decisions applied (``lock`` for accept/lock, ``exclude`` for reject).

    Raises
    ------
    InvalidInputError
        A site id that is not a candidate, or a reject of an existing on-air site.
    """
    out = candidates.copy()
    ids = set(out["site_id"].astype(str))
    for rec in decisions.to_dict("records"):
        sid = str(rec["site_id"])
        if sid not in ids:
            raise InvalidInputError(f"{where(source, rec['row'], 'site_id')}: {sid!r} is not a candidate site")
        rows = out["site_id"].astype(str) == sid
        if rec["decision"] == "reject" and (out.loc[rows, "origin"] == "existing").any():
            raise InvalidInputError(f"{where(source, rec['row'], 'decision')}: {sid!r} is an existing on-air site; "
                                    "it cannot be rejected")
        out.loc[rows, "decision"] = "exclude" if rec["decision"] == "reject" else "lock"
    return out


def overrule_table(free: Plan, decided: Plan, decisions: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Where the decisions overruled the optimiser, and what the decisions cost in all.

    Parameters
    ----------
    free, decided : Plan
        The optimiser's plan without the decisions, and the re-plan with them (same inputs otherwise).
    decisions : DataFrame
        :func:`read_decisions` rows (the last row per site is the one in force).

    Returns
    -------
    rows : DataFrame
        One row per decision in force with ``site_id, decision, reason, who, date, optimiser`` (``chosen`` or
        ``not chosen`` in the free plan), ``optimiser_explanation`` (the free plan's explanation of the site, or
        the reason it was rejected) and ``overruled`` (bool).
    cost : dict
        ``sites``, ``cost``, ``territory_share``, ``population_share``: the decided plan minus the free plan.
    """
    chosen = set(free.sites["site_id"].astype(str))
    why = dict(zip(free.sites["site_id"].astype(str), free.sites["explanation"].astype(str)))
    if len(free.rejected):
        why.update({k: v for k, v in zip(free.rejected["site_id"].astype(str), free.rejected["reason"].astype(str))
                    if k not in why})
    last = decisions.drop_duplicates("site_id", keep="last")
    rows = []
    for rec in last.to_dict("records"):
        sid = str(rec["site_id"])
        in_free = sid in chosen
        overruled = (rec["decision"] == "reject" and in_free) or (rec["decision"] in ("accept", "lock") and not in_free)
        rows.append({"site_id": sid, "decision": rec["decision"], "reason": rec["reason"], "who": rec["who"],
                     "date": rec["date"], "optimiser": "chosen" if in_free else "not chosen",
                     "optimiser_explanation": why.get(sid, ""), "overruled": bool(overruled)})
    fs, ds = free.summary, decided.summary
    cost = {"sites": int(ds["sites_selected"] - fs["sites_selected"]), "cost": float(ds["cost"] - fs["cost"]),
            "territory_share": float(ds["territory_share"] - fs["territory_share"]),
            "population_share": float(ds["population_share"] - fs["population_share"])}
    return pd.DataFrame(rows, columns=["site_id", "decision", "reason", "who", "date", "optimiser",
                                       "optimiser_explanation", "overruled"]), cost


def decision_records(decisions: pd.DataFrame) -> list[dict[str, Any]]:
    """Every decision row (revisions included) as plain dicts for ``plan.json``."""
    cols = ["row", "city", "site_id", "decision", "reason", "who", "date", "source"]
    return [{k: (int(v) if k == "row" else str(v)) for k, v in rec.items()} for rec in decisions[cols].to_dict("records")]


def plan_with_decisions(area: StudyArea, candidates: pd.DataFrame, decisions: pd.DataFrame, targets: Targets,
                        config: EngineConfig | None, *, source: str = "decisions",
                        progress: Callable[[str], None] | None = None, demand: DemandModel | None = None,
                        **kwargs: Any) -> Plan:
    """Plan honouring ``decisions``, and the optimiser's own plan on the same inputs for the comparison.

    Both plans share one :class:`~qamtu.plan.model.CityModel` (the engine links are computed once); only the
    locked/ruled-out sites differ. Returns the decided plan with ``Plan.decisions`` set to
    ``{"rows": [...], "overruled": [...], "cost_of_decisions": {...}}`` (every decision row, the decisions in force
    with the optimiser's explanation beside them, and the decided plan minus the free plan).
    """
    import numpy as np

    from qamtu.plan.model import CityModel
    from qamtu.plan.planner import plan_city

    decided = apply_decisions(candidates, decisions, source)
    model = CityModel(area, decided, config, progress)
    lock, exclude = model.lock.copy(), model.exclude.copy()
    free_dec = candidates.drop_duplicates("site_id").set_index("site_id")["decision"]
    free_dec = free_dec.reindex(model.sites["site_id"]).fillna("").to_numpy()
    model.lock, model.exclude = free_dec == "lock", free_dec == "exclude"
    try:
        free = plan_city(area, decided, targets, config, model=model, demand=demand, progress=progress, **kwargs)
    finally:
        model.lock, model.exclude = lock, exclude
    plan = plan_city(area, decided, targets, config, model=model, demand=demand, progress=progress, **kwargs)
    rows, cost = overrule_table(free, plan, decisions)
    plan.decisions = {"rows": decision_records(decisions), "overruled": rows.to_dict("records"),
                      "cost_of_decisions": cost,
                      "free_plan": {"sites": free.sites["site_id"].astype(str).tolist(),
                                    "cost": float(free.summary["cost"]),
                                    "territory_share": float(free.summary["territory_share"]),
                                    "population_share": float(free.summary["population_share"])}}
    plan.summary["decisions_overruling"] = int(np.sum(rows["overruled"])) if len(rows) else 0
    plan.summary["cost_of_decisions"] = cost
    return plan
