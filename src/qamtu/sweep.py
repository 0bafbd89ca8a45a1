"""Scenario sweeps: every combination of the varied keys run through the national chain, sharing what it can.

``qamtu sweep --vary crews=20,30,40 --vary threshold_dbm=-105,-110 ...`` runs :func:`run_sweep`. Each ``--vary``
names a key (an alias of :data:`VARY_KEYS` or any dotted scenario key, e.g. ``engine.cell_load``) and its values;
the sweep runs the cartesian product, in the order given.

What is shared
--------------
The national chain has two stages (:mod:`qamtu.chain.national`): the city stage (study area, candidates, links, plan,
and the engine-backed gate of each city: :func:`~qamtu.chain.national.plan_cities`) and the schedule stage (the
month-by-month rollout and the resource search, which only query the gates). A key belongs to one of them:

* schedule keys (:data:`SCHEDULE_KEYS`: crews, build rate, budget, priority, deadlines, search): combinations that
  differ only in these share one city stage, and its gate cache (a set of sites on air evaluated for one
  combination is not evaluated again for another);
* every other key (engine knobs, targets, planning, lead times, crew pools) changes the plans: the combinations
  that differ in it get their own city stage;
* of those, the RSRP threshold, the coverage level, the load, the DL-rate criterion and the search cap
  (``threshold_dbm``, ``probability``, ``load``, ``min_dl_mbps``, ``engine.max_cutoff_m``:
  :data:`qamtu.chain.national.LINK_FREE_FIELDS`) leave the path terms of the links unchanged: the city stages that
  differ only in these share their cities' coverage links (the planner's links of every candidate sector, most of
  a city's link work). The first of them computes them for all at once (:mod:`qamtu.plan.linkshare`,
  :func:`qamtu.engine.links.compute_links_many`: path terms, gains and powers evaluated once per link, then per
  threshold the coverage probability, radius and relevance rule; each stage's links are identical, bit for bit,
  to those of a separate run), the others re-plan on them. Planning itself (site choice, the full-engine links of
  the chosen sites, the gate) is per stage. With the default per-class candidate lattice the spacing follows the
  link budget, so a threshold or level that changes the spacing gets its own candidate table, and its own links.

Outputs (all written atomically)
--------------------------------
``combinations/<id>/summary.json`` and ``schedule.csv`` per combination (``summary.json`` last: it marks the
combination done; a rerun with the same ``--out`` skips it and plans no city stage whose combinations are all
done), then ``sweep.csv`` and ``sweep.json`` (one row of headline figures per combination) and ``sweep.png``
(the chart of those figures), and ``scenario.yaml`` (the base scenario).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from qamtu.errors import InvalidInputError
from qamtu.chain.scenario import Scenario

#: Short names accepted by ``--vary`` and the scenario key each sets.
VARY_KEYS: dict[str, str] = {
    "crews": "crews.count",
    "sites_per_crew_month": "crews.sites_per_crew_month",
    "build_rate": "crews.sites_per_crew_month",
    "monthly_budget": "budget.monthly",
    "priority": "priority",
    "deadline": "deadline",
    "threshold_dbm": "engine.rsrp_threshold_dbm",
    "rsrp_threshold_dbm": "engine.rsrp_threshold_dbm",
    "probability": "engine.coverage_level",
    "coverage_level": "engine.coverage_level",
    "load": "engine.cell_load",
    "cell_load": "engine.cell_load",
    "min_dl_mbps": "engine.min_dl_mbps",
    "resolution_m": "planning.resolution_m",
    "candidate_spacing_m": "planning.candidate_spacing_m",
    "method": "planning.method",
}

#: Scenario keys (dotted prefixes) that only the schedule stage reads: varying them re-runs only the schedule.
SCHEDULE_KEYS = ("crews.count", "crews.per_pool", "crews.sites_per_crew_month", "budget", "priority", "deadline",
                 "comparison_deadline", "start", "search")

#: The headline figures of a combination (columns of sweep.csv after the varied keys).
HEADLINE = ("cities", "cities_on_time", "cities_on_time_comparison", "minimum", "minimum_comparison",
            "search_method", "sites", "cost", "territory_share_mean", "last_gate_month", "cities_failed")


@dataclasses.dataclass(frozen=True)
class Combination:
    """One point of the sweep: ``values`` by the names the user gave, ``overrides`` by dotted scenario key."""

    index: int
    values: dict[str, Any]
    overrides: dict[str, Any]

    @property
    def id(self) -> str:
        parts = [f"{k}={_plain(v)}" for k, v in self.values.items()]
        return re.sub(r"[^A-Za-z0-9=.+_-]", "-", "_".join(parts))[:150]

    @property
    def plan_key(self) -> tuple:
        """What the city stage depends on among the overrides (combinations with equal keys share it)."""
        return tuple(sorted((k, repr(v)) for k, v in self.overrides.items() if not is_schedule_key(k)))

    @property
    def link_key(self) -> tuple:
        """What the links depend on among the overrides (city stages with equal keys share their links)."""
        from qamtu.chain.national import LINK_FREE_FIELDS

        free = {f"engine.{f}" for f in LINK_FREE_FIELDS}
        return tuple((k, v) for k, v in self.plan_key if k not in free)


def is_schedule_key(dotted: str) -> bool:
    """Whether only the schedule stage reads this scenario key."""
    return any(dotted == k or dotted.startswith(k + ".") for k in SCHEDULE_KEYS)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def parse_vary(specs: Sequence[str]) -> dict[str, list[Any]]:
    """``["crews=20,30", "threshold_dbm=-105,-110"]`` -> ``{"crews": [20, 30], "threshold_dbm": [-105, -110]}``.

    Values are read as YAML scalars (numbers, ``null``, dates, strings).
    """
    import yaml

    out: dict[str, list[Any]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise InvalidInputError(f"--vary {spec!r}: expected KEY=V1,V2,... (e.g. crews=20,30,40)")
        if key in out:
            raise InvalidInputError(f"--vary names {key!r} twice; give all its values in one --vary")
        if key not in VARY_KEYS and "." not in key:
            raise InvalidInputError(f"--vary {spec!r}: unknown key {key!r}; allowed: {', '.join(VARY_KEYS)} "
                                    "or a dotted scenario key such as engine.cell_load")
        parsed = []
        for text in values.split(","):
            if not text.strip():
                raise InvalidInputError(f"--vary {spec!r}: an empty value")
            try:
                parsed.append(yaml.safe_load(text.strip()))
            except yaml.YAMLError as exc:
                raise InvalidInputError(f"--vary {spec!r}: cannot read value {text!r}: {exc}") from exc
        if len({repr(v) for v in parsed}) != len(parsed):
            raise InvalidInputError(f"--vary {spec!r}: a value is given twice")
        out[key] = parsed
    if not out:
        raise InvalidInputError("a sweep needs at least one --vary KEY=V1,V2,...")
    return out


def combinations(vary: Mapping[str, Sequence[Any]]) -> list[Combination]:
    """Every combination of the varied values (the cartesian product, in the order given)."""
    keys = list(vary)
    out = []
    for i, values in enumerate(itertools.product(*(vary[k] for k in keys))):
        vals = dict(zip(keys, values))
        out.append(Combination(i, vals, {VARY_KEYS.get(k, k): v for k, v in vals.items()}))
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        raise InvalidInputError("two combinations of the --vary values get the same folder name; "
                                "use values that differ in letters or digits")
    dotted = [VARY_KEYS.get(k, k) for k in keys]
    if len(set(dotted)) != len(dotted):
        raise InvalidInputError(f"--vary names one scenario key twice (aliases of each other): {keys}")
    return out


def apply(scenario: Scenario, combo: Combination) -> Scenario:
    """The scenario of one combination (:meth:`Scenario.with_overrides`: validated like a file, the error names
    the ``--vary`` key; a dotted key whose parent is not a mapping of the scenario is an InvalidInputError)."""
    plain = scenario.to_plain()
    options = {}
    for name, value in combo.values.items():
        dotted = VARY_KEYS.get(name, name)
        node: Any = plain
        for k in dotted.split(".")[:-1]:
            if not isinstance(node, dict) or k not in node or not isinstance(node[k], dict):
                raise InvalidInputError(f"--vary {name}: {dotted!r} is not a key of the scenario "
                                        "(see qamtu.chain.scenario for the keys)")
            node = node[k]
        options[dotted] = (f"--vary {name}", value)
    return scenario.with_overrides(options)


def headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The headline figures of one national summary (``summary.json``)."""
    comp = summary["comparison"]
    cities = summary["cities"]
    gates = [c["gate_month"] for c in cities if c["gate_month"] is not None]
    shares = [float(c["territory_share"]) for c in cities if c["territory_share"] is not None]
    return {
        "cities": len(cities),
        "cities_on_time": comp[0]["cities_on_time"],
        "cities_on_time_comparison": comp[1]["cities_on_time"],
        "minimum": comp[0]["minimum"],
        "minimum_comparison": comp[1]["minimum"],
        "search_method": comp[0]["search_method"],
        "sites": sum(int(c["sites"]) for c in cities),
        "cost": float(sum(float(c["cost"]) for c in cities)),
        "territory_share_mean": (sum(shares) / len(shares)) if shares and len(shares) == len(cities) else None,
        "last_gate_month": max(gates) if gates and len(gates) == len(cities) else None,
        "cities_failed": sum(c["error"] is not None for c in cities),
    }


@dataclasses.dataclass
class SweepResult:
    """What :func:`run_sweep` did: the rows of sweep.csv, and how much it ran and reused (``city_stages`` planned,
    of which ``links_reused`` took the coverage links of one city or more from an earlier one's computation)."""

    rows: list[dict[str, Any]]
    ran: list[str]
    skipped: list[str]
    city_stages: int
    links_reused: int
    out: Path


def _done(folder: Path, combo: Combination) -> dict[str, Any] | None:
    """The summary of a finished combination in ``folder`` (None when not finished or of other values)."""
    import json

    path = folder / "summary.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("combination") != {k: _plain(v) for k, v in combo.values.items()}:
        return None
    return data


def run_sweep(
    scenario: Scenario,
    vary: Mapping[str, Sequence[Any]],
    out: str | Path,
    *,
    executor: Any = None,
    progress: Callable[[str, int, int, str], None] | None = None,
) -> SweepResult:
    """Run every combination of ``vary`` (see the module docstring) and write the sweep's outputs to ``out``.

    Parameters
    ----------
    scenario : Scenario
        The base scenario (cities, resolution and deadline included); each combination sets its keys on top.
    vary : mapping key -> list of values
        From :func:`parse_vary`.
    out : path
        Output folder: new, empty, or an earlier qamtu output (a sweep's is resumed).
    executor : qamtu.distributed executor, optional
        Where the cities are planned (default: here).
    progress : callable(stage, done, total, detail), optional
    """
    from qamtu.fileio import MARKER, check_output_folder, write_csv_atomic, write_json_atomic, write_text_atomic
    from qamtu.report.national import summary_dict
    from qamtu.chain.national import plan_cities, run_national

    out = Path(out)
    combos = combinations(vary)
    # every combination is validated before anything runs: a bad value stops the sweep at once
    scenarios = {}
    for c in combos:
        sc = apply(scenario, c)
        sc.engine_config()
        scenarios[c.id] = sc
    check_output_folder(out)
    # written in place, combination by combination (resumable); the marker makes it a qamtu output folder
    write_json_atomic(out / MARKER, {"written_by": "sweep"})

    groups: dict[tuple, list[Combination]] = {}
    for c in combos:
        groups.setdefault(c.plan_key, []).append(c)

    def tick(stage: str, done: int, total: int, detail: str = "") -> None:  # combinations: the "what if" bar
        if progress is not None:
            progress(stage, done, total, detail)

    write_text_atomic(out / "scenario.yaml", scenario.to_yaml())
    summaries: dict[str, dict[str, Any]] = {}
    ran: list[str] = []
    skipped: list[str] = []
    stages = 0
    reused = 0
    donors: dict[tuple, Any] = {}
    done_count = 0
    tick("sensitivity", 0, len(combos), "")
    todos = []
    for members in groups.values():
        todo = []
        for c in members:
            prior = _done(out / "combinations" / c.id, c)
            if prior is not None:
                summaries[c.id] = prior
                skipped.append(c.id)
                done_count += 1
            else:
                todo.append(c)
        if todo:
            todos.append(todo)
    # the engine settings of the city stages still to plan, per link key: the first stage of a key computes its
    # cities' coverage links for all of them at once, the others take theirs from it
    siblings: dict[tuple, list[Any]] = {}
    for todo in todos:
        siblings.setdefault(todo[0].link_key, []).append(scenarios[todo[0].id].engine_config())
    for todo in todos:
        first = todo[0]
        donor = donors.get(first.link_key)
        planned = plan_cities(scenarios[first.id], executor=executor, progress=progress, reuse=donor,
                              siblings=siblings[first.link_key])
        stages += 1
        reused += any(r.links_shared for r in planned.runs.values())
        if donor is None:
            donors[first.link_key] = planned  # kept (on the workers) for the groups that can reuse its links
        try:
            for c in todo:
                tick("sensitivity", done_count, len(combos), c.id)
                report, _ = run_national(scenarios[c.id], planned=planned, sensitivity=False)
                summary = summary_dict(report)
                summary["combination"] = {k: _plain(v) for k, v in c.values.items()}
                folder = out / "combinations" / c.id
                write_csv_atomic(folder / "schedule.csv", report.schedule_rows)
                write_json_atomic(folder / "summary.json", summary)  # last: marks the combination done
                summaries[c.id] = summary
                ran.append(c.id)
                done_count += 1
                tick("sensitivity", done_count, len(combos), c.id)
        finally:
            if donors.get(first.link_key) is not planned:
                planned.release()
    for donor in donors.values():
        donor.release()

    rows = []
    for c in combos:
        row = {"combination": c.id, **{k: _plain(v) for k, v in c.values.items()}}
        row.update(headline(summaries[c.id]))
        rows.append(row)
    write_csv_atomic(out / "sweep.csv", rows, columns=["combination", *vary, *HEADLINE])
    write_json_atomic(out / "sweep.json", {"scenario": scenario.source, "vary": {k: [_plain(v) for v in vs]
                                                                                  for k, vs in vary.items()},
                                           "deadline": rows and summaries[combos[0].id]["deadline"],
                                           "combinations": rows})
    write_sweep_chart(rows, list(vary), out / "sweep.png")
    return SweepResult(rows=rows, ran=ran, skipped=skipped, city_stages=stages, links_reused=reused, out=out)


def write_sweep_chart(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], path: Path) -> Path:
    """One chart of the headline figures per combination: cities on time (both deadlines) and the minimum."""
    import numpy as np

    from qamtu.plotting import pyplot, save_png

    plt = pyplot()

    labels = [", ".join(f"{k}={r[k]}" for k in keys) for r in rows]
    y = np.arange(len(rows))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 1.6 + 0.35 * len(rows)), sharey=True)
    ax1.barh(y - 0.2, [r["cities_on_time"] for r in rows], height=0.4, label="by the deadline")
    ax1.barh(y + 0.2, [r["cities_on_time_comparison"] for r in rows], height=0.4, label="by the comparison deadline")
    ax1.set_xlabel("cities on time")
    ax1.set_xlim(0, max([r["cities"] for r in rows] + [1]))
    ax1.set_yticks(y, labels)
    ax1.invert_yaxis()
    ax1.xaxis.get_major_locator().set_params(integer=True)
    fig.legend(*ax1.get_legend_handles_labels(), loc="lower left", ncols=2, fontsize="small", frameon=False)
    mins = [np.nan if r["minimum"] is None else float(r["minimum"]) for r in rows]
    ax2.barh(y, mins, height=0.6, color="tab:green")
    for yi, m in zip(y, mins):
        if not np.isfinite(m):
            ax2.text(0, yi, " not reachable", va="center", fontsize="small")
    ax2.set_xlabel("minimum crews or budget for the deadline (search)")
    fig.suptitle(f"Sweep: {len(rows)} combinations")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return save_png(fig, path, dpi=100, tight=False)
