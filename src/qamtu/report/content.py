"""What the national page says, in words and numbers of the report's language.

The numbers come from a :class:`~qamtu.report.national.NationalReport`; this module turns them into the headline
(how many cities meet the targets by the deadline, and what it would take), the per-city phases, the reason
each late city is late, the assumptions box and the glossary. Numbers are formatted for the language
(:class:`Numbers`: decimal comma and narrow no-break space for thousands in Russian and Kazakh).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from qamtu.report.i18n import translator

if TYPE_CHECKING:  # pragma: no cover
    from qamtu.report.records import CityReport, NationalReport

DASH = "\u2013"
THIN = "\u202f"  # narrow no-break space: the thousands separator in every language of the report


@dataclasses.dataclass(frozen=True)
class Numbers:
    """Number formats of one language (``en``: 1 234.5; ``ru``/``kk``: 1 234,5)."""

    lang: str

    @property
    def decimal(self) -> str:
        return "." if self.lang == "en" else ","

    def _missing(self, x: Any) -> bool:
        return x is None or (isinstance(x, float) and math.isnan(x))

    def dec(self, x: float | None, digits: int = 1) -> str:
        """Fixed ``digits`` decimals (thousands grouped)."""
        if self._missing(x):
            return DASH
        return f"{x:,.{digits}f}".replace(",", THIN).replace(".", self.decimal)

    def pct(self, x: float | None) -> str:
        """A share 0..1 as a percentage with one decimal."""
        return DASH if self._missing(x) else f"{self.dec(100 * x, 1)}\u00a0%"

    def num(self, x: float | None) -> str:
        """A quantity: whole numbers from 100 up, else three significant digits."""
        if self._missing(x):
            return DASH
        if abs(x) >= 100:
            return self.dec(x, 0)
        return f"{x:.3g}".replace(".", self.decimal)

    def int(self, x: float | None) -> str:
        return DASH if self._missing(x) else self.dec(round(x), 0)

    def g(self, x: float) -> str:
        """Shortest form (``%g``), decimal sign of the language."""
        return f"{x:g}".replace(".", self.decimal)


def city_label(c: CityReport, lang: str) -> str:
    return c.names.get(lang) or c.names.get("en", c.id)


def _search_row(report: NationalReport, index: int) -> dict[str, Any] | None:
    return report.comparison[index] if len(report.comparison) > index else None


def headline(report: NationalReport, lang: str) -> list[str]:
    """The answer in plain words: one sentence per fact (on time by each deadline, what it would take, who can't).

    The counts are those of the schedule with the scenario's resources; the resources needed are those of the
    search (:func:`qamtu.rollout.minimum_crews` / ``minimum_budget``) over the cities whose plan meets the targets.
    """
    t = translator(lang)
    f = Numbers(lang)
    n = len(report.cities)
    crews = sum(int(v) for v in dict(report.resources.get("crews", {}) or {}).values()) or None
    rate = report.resources.get("sites_per_crew_month")
    lines = []
    for k, d in enumerate((report.deadline, report.comparison_deadline)):
        row = _search_row(report, k)
        on_time = row["cities_on_time"] if row else sum(c.status == "on_time" for c in report.cities)
        key = "hl_on_time" if k == 0 else "hl_second"
        lines.append(t(key).format(on_time=on_time, n=n, deadline=d.isoformat(),
                                   crews=DASH if crews is None else crews, rate=DASH if rate is None else f.g(rate)))
        if row is None or report.search_resource == "none" or not row.get("search_cities"):
            continue
        k_cities = row.get("search_cities", n)
        if row.get("minimum") is None:
            lines.append(t("hl_take_none").format(deadline=d.isoformat()))
        elif report.search_resource == "budget":
            lines.append(t("hl_take_budget").format(k=k_cities, n=n, deadline=d.isoformat(),
                                                    minimum=f.num(row["minimum"]), currency=currency(report, lang)))
        elif len(report.resources.get("crews", {}) or {}) > 1:  # the search gives every pool the same crews
            lines.append(t("hl_take_crews_pool").format(k=k_cities, n=n, deadline=d.isoformat(),
                                                        minimum=row["minimum"], pools=len(report.resources["crews"])))
        else:
            per_month = math.floor(row["minimum"] * (rate or 0) + 1e-9)
            lines.append(t("hl_take_crews").format(k=k_cities, n=n, deadline=d.isoformat(), minimum=row["minimum"],
                                                   per_month=f.int(per_month)))
    never = [c for c in report.cities if not c.passes_at_end]
    if never:
        lines.append(t("hl_never").format(m=len(never), n=n,
                                          cities=", ".join(city_label(c, lang) for c in never)))
    return lines


def currency(report: NationalReport, lang: str) -> str:
    """The currency of the costs; the default "cost units" in the report's language."""
    return translator(lang)("cost_units") if report.currency in ("", "cost units") else report.currency


def sites_on_air(report: NationalReport) -> tuple[list[int], int]:
    """Cumulative sites on air at the end of each month of ``report.months`` and the sites the plans require.

    Sites of the schedule (``report.schedule_rows``: new sites; existing ones are on air before the start).
    """
    index = {m: i for i, m in enumerate(report.months)}
    built = [0] * len(report.months)
    for row in report.schedule_rows:
        m = row.get("on_air_month")
        if m in index:
            built[index[m]] += 1
    total = 0
    out = []
    for b in built:
        total += b
        out.append(total)
    return out, len(report.schedule_rows)


@dataclasses.dataclass
class Phases:
    """One city's path: lead times end, first and last site on air, targets met (labels "YYYY-MM" or None)."""

    city_id: str
    name: str
    lead_end: str | None
    first_on_air: str | None
    last_on_air: str | None
    gate: str | None
    status: str


def city_phases(report: NationalReport, lang: str) -> list[Phases]:
    """Per city, from the schedule's site rows: the earliest month a site could be built (the shortest lead
    time), the first and last month a site went on air, and the month the targets are met."""
    from qamtu.rollout.schedule import month_label

    by_city: dict[str, list[dict[str, Any]]] = {}
    for row in report.schedule_rows:
        by_city.setdefault(str(row.get("city_id")), []).append(row)
    out = []
    for c in report.cities:
        rows = by_city.get(c.id, [])
        leads = [int(r["lead_time_months"]) for r in rows if r.get("lead_time_months") is not None]
        months = sorted(str(r["on_air_month"]) for r in rows if r.get("on_air_month"))
        out.append(Phases(
            city_id=c.id, name=city_label(c, lang),
            lead_end=month_label(report.start, min(leads)) if leads else None,
            first_on_air=months[0] if months else None, last_on_air=months[-1] if months else None,
            gate=c.gate_label, status=c.status))
    return out


def not_met(c: CityReport, lang: str) -> list[str]:
    """The targets a city misses with every planned site on air, as "indicator result < target"."""
    t = translator(lang)
    f = Numbers(lang)
    out = []
    for key, value, fmt in (("territory_share", c.territory_share, f.pct),
                            ("population_share", c.population_share, f.pct),
                            ("dl_p5", c.dl_p5_mbps, f.num)):
        target = c.targets.get("dl_p5_mbps" if key == "dl_p5" else key)
        if target is not None and (value is None or value < target - 1e-12):
            out.append(f"{t(key)}: {fmt(value)} < {fmt(target)}")
    return out


def late_text(c: CityReport, report: NationalReport, lang: str) -> str | None:
    """Why the city is not on time, in words (None when it is on time)."""
    t = translator(lang)
    why = c.late or {}
    reason = why.get("reason")
    if c.status == "on_time" or reason in (None, "on_time"):
        return None
    if reason == "failed":
        return t("why_failed")
    if reason == "plan":
        return t("why_plan").format(detail="; ".join(not_met(c, lang)) or DASH)
    if reason == "horizon":
        return t("why_horizon")
    pool = str(why.get("pool") or "")
    pool_name = t(f"pool_{pool}") if f"pool_{pool}" in _KEYS else pool
    return t(f"why_{reason}").format(k=why.get("late_sites", 0), month=why.get("lead_end_label") or DASH,
                                     gate=why.get("gate_label") or DASH, pool=pool_name,
                                     capacity=why.get("capacity") if why.get("capacity") is not None else DASH)


def resources_text(report: NationalReport, lang: str) -> list[tuple[str, str]]:
    """(label, value) pairs of the scenario's resources in the report's language."""
    t = translator(lang)
    f = Numbers(lang)
    r = report.resources
    out = []
    crews = dict(r.get("crews", {}) or {})
    if crews:
        out.append((t("res_crews"), ", ".join(
            f"{t(f'pool_{p}') if f'pool_{p}' in _KEYS else p}: {n}" for p, n in crews.items())))
    if r.get("sites_per_crew_month") is not None:
        out.append((t("res_rate"), f.g(float(r["sites_per_crew_month"]))))
    if "monthly_budget" in r:
        b = r.get("monthly_budget")
        out.append((t("res_budget"), t("unlimited") if b is None else f"{f.num(float(b))} {currency(report, lang)}"))
        if b is not None and "carry_over" in r:
            out.append((t("res_carry"), t("yes") if r["carry_over"] else t("no")))
    pr = r.get("priority")
    if pr is not None:
        out.append((t("res_priority"), t(f"priority_{pr}") if isinstance(pr, str) and f"priority_{pr}" in _KEYS
                    else ", ".join(map(str, pr if not isinstance(pr, str) else [pr]))))
    if r.get("resolution_m") is not None:
        out.append((t("res_resolution"), f.g(float(r["resolution_m"]))))
    return out


def assumptions(report: NationalReport, lang: str) -> list[str]:
    """The lines of the "what these numbers assume" box."""
    t = translator(lang)
    f = Numbers(lang)
    a = report.assumptions
    if not a:
        return [t("as_predicted")]
    n = int(a.get("cities", len(report.cities)))
    lines = []
    kinds = a.get("boundary_kinds")
    if kinds is None:  # a summary written before the boundary kinds were recorded
        approx = int(a.get("boundary_approx", 0))
        kinds = {"disc": approx, "given": n - approx}
    for kind, key in (("shipped", "as_boundary_shipped"), ("settlement_cut", "as_boundary_cut"),
                      ("given", "as_boundary_file"), ("disc", "as_boundary_approx")):
        if int(kinds.get(kind, 0)):
            lines.append(t(key).format(n=int(kinds[kind]), total=n))
    model = int(a.get("population_model", 0))
    if model:
        lines.append(t("as_population_model").format(n=model, total=n))
    if n - model:
        lines.append(t("as_population_file").format(n=n - model, total=n))
    if "terrain" in a:
        lines.append(t("as_terrain_dem").format(n=int(a["terrain"]), total=n))
    else:
        lines.append(t("as_terrain"))
    lines.append(t("as_users_" + ("all" if a.get("users") == "all" else "outdoor")))
    lines.append(t("as_criterion").format(rsrp=f.g(float(a["rsrp_threshold_dbm"])),
                                          prob=f.pct(float(a["coverage_level"])),
                                          dl=f.g(float(a["min_dl_mbps"]))))
    lines.append(t("as_load").format(load=f.pct(float(a["cell_load"]))))
    lines.append(t("as_predicted"))
    return lines


GLOSSARY_TERMS = ("gl_targets", "gl_covered", "gl_rsrp", "gl_probability", "gl_dl_p5", "gl_load", "gl_crew",
                  "gl_lead_time", "gl_kind")


def glossary(lang: str) -> list[tuple[str, str]]:
    """(term, definition) pairs; each key ``gl_x`` has its term at ``gl_x`` and definition at ``gl_x_def``."""
    t = translator(lang)
    return [(t(k), t(f"{k}_def")) for k in GLOSSARY_TERMS]


def site_why(s: dict[str, Any], lang: str) -> str:
    """Why a site is in the plan, from the planner's numbers (people and km² it adds, people only it covers)."""
    t = translator(lang)
    f = Numbers(lang)
    if str(s.get("origin", "")) == "existing":
        return t("why_site_existing")
    if "added_population" not in s:
        return DASH
    return t("why_site").format(order=s.get("order", DASH), people=f.int(s.get("added_population")),
                                area=f.dec(s.get("added_area_km2"), 2), unique=f.int(s.get("unique_population")))


def on_air_text(s: dict[str, Any], lang: str) -> str:
    if str(s.get("origin", "")) == "existing":
        return translator(lang)("already_on_air")
    return s.get("on_air_month") or DASH


def _all_keys() -> frozenset[str]:
    from qamtu.report.i18n import STRINGS

    return frozenset(STRINGS["en"])


_KEYS = _all_keys()
