"""The scenario: one typed, validated YAML or TOML file, the single table of defaults of every command.

Every key has a default (:data:`DEFAULT_SCENARIO`); a named preset (:data:`PRESETS`, key ``preset``) changes a
few of them for a kind of run (``national-fast``: the coarse grid and the greedy planner of the national job); a
file overrides what it names, mappings merge key by key; command-line options override the file
(:meth:`Scenario.with_overrides`). Every command writes the resolved scenario (:meth:`Scenario.to_yaml`: every
setting used, the engine's in full under ``engine``) beside its outputs.
An unknown key, a wrong type or a value out of range is an :class:`~qamtu.errors.InvalidInputError` that names
the file, the dotted key and what is allowed. Relative file paths are resolved against the scenario file's
folder. :meth:`Scenario.to_yaml` gives the resolved scenario, which ``qamtu national`` writes beside its report.

Keys (with defaults)::

    version: 1
    preset: standard                 # standard | national-fast (planning.resolution_m 250, method greedy,
                                     # time_limit_s 30: what `qamtu national`, `schedule` and `sweep` use unless
                                     # the file names another preset)
    name: "Kazakhstan's 20 regional centres (built-in defaults)"
    start: 2024-01-01                # first month of building (after the October 2023 decision)
    deadline: 2025-12-31             # the moved deadline
    comparison_deadline: 2027-12-31  # the licence's original deadline, shown side by side
    currency: "cost units"           # unit of site costs and budgets
    cities:
      ids: all                       # "all" or a list of catalogue ids
      files: {}                      # per city id: sites (= existing: on air, cost 0), candidates, sites_4g (4G
                                     # grid: co-location candidates), population, boundary, dem (file, folder or
                                     # "flat"), landcover (paths), targets
    planning:
      resolution_m: 25.0             # study-area grid, m (national-fast: 250, the 20 cities in about a minute)
      candidate_spacing_m: null      # lattice of generated candidates (used when a city has no candidates file):
                                     # null = one lattice per environment class, half the spacing a site needs
                                     # there (link-budget reach or capacity, qamtu.plan.candidates.class_spacings_m);
                                     # a number = one uniform lattice at that spacing, m
      colocation_cost_factor: 0.5    # cost of a 5G site on an existing 4G site (cities.files.<id>.sites_4g) as a
                                     # share of candidate_cost
      candidate_cost: 1.0            # cost of a generated candidate site
      method: milp                   # milp | greedy (national-fast: greedy)
      time_limit_s: 60.0             # per solve, s (national-fast: 30)
      mip_rel_gap: 0.005             # HiGHS relative MIP gap
      max_repairs: 10                # engine-check / repair rounds of a plan
      budget: null                   # upper bound on a city plan's total cost; null = none
      demand_block_m: null           # optimise on square demand blocks of this side, m (approximate); null = exact
      lock: []                       # site ids always chosen
      exclude: []                    # site ids never chosen
      people_first: true             # a city's population target defaults to its territory target
                                     # (qamtu.plan.problem.Targets.people_first); false: territory only
      capacity:                      # busy-hour demand = people x take_up x active_share x rate; sites are added
                                     # where a sector's demand exceeds its capacity (qamtu.plan.capacity, sources)
        enabled: true
        take_up: 0.30                # share of the people on 5G
        active_share: 0.0125         # share of 5G users active at once in the busy hour
        rate_per_active_user_mbps: 10.0
        target_load: null            # utilisation a sector may reach; null = engine.cell_load
    targets:                         # per class of city; a city's own `targets` in cities.files wins
      republican: {territory_share: 0.75, population_share: null, dl_p5_mbps: null}
      regional: {territory_share: 0.60, population_share: null, dl_p5_mbps: null}
    engine: {}                       # EngineConfig fields (e.g. min_dl_mbps, cell_load, coverage_level, max_cutoff_m;
                                     # calibration: a calibration JSON file of `qamtu calibrate`); the resolved
                                     # scenario lists every field
    crews:
      pools: national                # national | region | operator: one pool for the country, one per region,
                                     # or one per operator (candidates' `operator` column; else "unassigned")
      count: 30                      # crews per pool, 0 to 100000 (an assumption: the report gives the minimum
                                     # that meets the deadline, found by search)
      per_pool: {}                   # pool name -> crews, overrides count
      sites_per_crew_month: 4.0     # from 0.01 to 1000
    lead_times_months:               # lead time = permits + max(power, backhaul)
      default: {permits: 3, power: 1, backhaul: 1}
      by_class: {}                   # site class -> {permits, power, backhaul}
    budget:
      monthly: null                  # null = unlimited
      carry_over: true               # unspent budget carries over to the next month
    priority: people-per-cost        # people-per-cost | city-by-city | list of city ids or "city/site" keys
    search:
      resource: crews                # crews | budget | none
      method: auto                   # auto | bisect | linear
    inputs:
      decisions: null                # decisions file (qamtu.plan.decisions; `national`: with a city column)
      measurements: null             # drive-test CSV: measured quality beside predicted (`national`)
    report:                          # what is written, not what is computed
      lang: en                       # en | ru | kk
      basemap: none                  # none | osm (interactive maps)
      pdf: false                     # also report.pdf (`national`)
      sensitivity: true              # the what-if table (`national`)
      png: true                      # PNG maps (`coverage`, `reference-run`)
      per_metric_tiffs: false        # one GeoTIFF per metric (`coverage`)
    audit: {}                        # the settings of `qamtu audit` (written by the command, every option)
    calibrate: {}                    # the settings of `qamtu calibrate` (written by the command, every option)
    operators: {}                    # several networks: name -> overrides of targets, cities (files), planning,
                                     # crews, budget for that operator (everything else is shared); `national`
                                     # then plans and schedules each operator and reports each and the total
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qamtu import targets as _licence
from qamtu.errors import DataFileError, InvalidInputError
from qamtu.rollout.search import MAX_CREWS

#: Slowest build rate accepted: one site per crew in 100 months (a smaller rate is a typo; with it the crew
#: search would range over millions of crews).
MIN_SITES_PER_CREW_MONTH = 0.01

DEFAULT_SCENARIO: dict[str, Any] = {
    "version": 1,
    "preset": "standard",
    "name": "Kazakhstan's 20 regional centres (built-in defaults)",
    "start": _licence.START,
    "deadline": _licence.DEADLINE,
    "comparison_deadline": _licence.COMPARISON_DEADLINE,
    "currency": "cost units",
    "cities": {"ids": "all", "files": {}},
    "planning": {
        "resolution_m": 25.0,
        "candidate_spacing_m": None,
        "candidate_cost": 1.0,
        "method": "milp",
        "time_limit_s": 60.0,
        "mip_rel_gap": 0.005,
        "max_repairs": 10,
        "budget": None,
        "demand_block_m": None,
        "lock": [],
        "exclude": [],
        "people_first": True,
        "colocation_cost_factor": 0.5,
        "capacity": {"enabled": True, "take_up": 0.30, "active_share": 0.0125, "rate_per_active_user_mbps": 10.0,
                     "target_load": None},
    },
    "targets": {cls: {"territory_share": share, "population_share": None, "dl_p5_mbps": None}
                for cls, share in _licence.LICENCE_TERRITORY_SHARE.items()},
    "engine": {},
    "crews": {"pools": "national", "count": 30, "per_pool": {}, "sites_per_crew_month": 4.0},
    "lead_times_months": {"default": {"permits": 3, "power": 1, "backhaul": 1}, "by_class": {}},
    "budget": {"monthly": None, "carry_over": True},
    "priority": "people-per-cost",
    "search": {"resource": "crews", "method": "auto"},
    "operators": {},
    "inputs": {"decisions": None, "measurements": None},
    "report": {"lang": "en", "basemap": "none", "pdf": False, "sensitivity": True, "png": True,
               "per_metric_tiffs": False},
    "audit": {},
    "calibrate": {},
}

#: Named presets: the keys each one changes from :data:`DEFAULT_SCENARIO` (the file and the command line still win).
PRESETS: dict[str, dict[str, Any]] = {
    "standard": {},
    # the national job on every city: a 250 m grid and the greedy planner (the 20 cities in about a minute)
    "national-fast": {"planning": {"resolution_m": 250.0, "method": "greedy", "time_limit_s": 30.0}},
}

_CITY_FILE_KEYS = ("sites", "existing", "candidates", "sites_4g", "population", "boundary", "dem", "landcover",
                   "targets")
_TARGET_KEYS = ("territory_share", "population_share", "dl_p5_mbps")
_LEAD_KEYS = ("permits", "power", "backhaul")


@dataclasses.dataclass
class Scenario:
    """A validated scenario: ``data`` holds every key, defaults filled in, paths absolute."""

    data: dict[str, Any]
    source: str

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def city_ids(self, catalogue_ids: list[str]) -> list[str]:
        """The cities of the run, in catalogue order when ``ids`` is ``all``, else in the order given."""
        ids = self.data["cities"]["ids"]
        if ids == "all":
            return list(catalogue_ids)
        unknown = [c for c in ids if c not in catalogue_ids]
        if unknown:
            raise InvalidInputError(
                f"{self.source}: key 'cities.ids': unknown city ids {_short(unknown)}; allowed: "
                f"{', '.join(catalogue_ids)}"
            )
        return list(ids)

    def city_files(self, city_id: str) -> dict[str, Any]:
        return dict(self.data["cities"]["files"].get(city_id, {}))

    def targets_for(self, city_id: str, republican: bool) -> dict[str, float | None]:
        """The city's targets: its own from ``cities.files``, else those of its class."""
        base = dict(self.data["targets"]["republican" if republican else "regional"])
        base.update(self.city_files(city_id).get("targets", {}))
        return base

    def lead_time_months(self, site_class: str) -> int:
        """Lead time of a site class: permits + max(power, backhaul) (power and backhaul run in parallel)."""
        lt = self.data["lead_times_months"]["by_class"].get(site_class, self.data["lead_times_months"]["default"])
        return int(lt["permits"] + max(lt["power"], lt["backhaul"]))

    def crews_for(self, pool: str) -> int:
        return int(self.data["crews"]["per_pool"].get(pool, self.data["crews"]["count"]))

    def with_overrides(self, options: Mapping[str, tuple[str, Any]]) -> "Scenario":
        """This scenario with command-line options applied: ``{"dotted.key": (option name, value)}``.

        The result is validated like a file (a bad value names its option) and remembers the options, which
        :meth:`to_yaml` writes as a comment; the keys themselves carry the values, so the resolved file alone
        reproduces the run.
        """
        raw = self.to_plain()
        for dotted, (_option, value) in options.items():
            node = raw
            *head, last = dotted.split(".")
            for k in head:
                node = node.setdefault(k, {})
            node[last] = value.isoformat() if isinstance(value, _dt.date) else value
        names = ", ".join(f"{opt} {_as_typed(val)}" for opt, val in options.values())
        # the files of the options are checked by their readers when used (the messages name the file and what it
        # is); the files of the scenario file were checked when it was read
        return validate_scenario(raw, source=f"{self.source} + command-line options ({names})", check_files=False)

    def to_plain(self) -> dict[str, Any]:
        """The resolved scenario as plain YAML/JSON types (dates as ISO strings)."""

        def plain(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, _dt.date):
                return v.isoformat()
            return v

        return plain(self.data)

    def engine_config(self) -> Any:
        """The :class:`~qamtu.engine.EngineConfig` of the scenario: the one way engine settings reach the engine
        (lists become tuples, ``environments`` entries :class:`~qamtu.engine.config.EnvProfile`, ``calibration``
        the calibration file read with :func:`qamtu.engine.load_calibration`)."""
        from qamtu.engine import EngineConfig, load_calibration
        from qamtu.engine.config import EnvProfile

        knobs = dict(self.data["engine"])
        for k, x in list(knobs.items()):
            if isinstance(x, list):
                knobs[k] = tuple(x)
        if isinstance(knobs.get("environments"), Mapping):
            knobs["environments"] = {c: EnvProfile(**p) for c, p in knobs["environments"].items()}
        if knobs.get("calibration") is not None:
            knobs["calibration"] = load_calibration(knobs["calibration"])
        try:
            return EngineConfig(**knobs)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{self.source}: key 'engine': {exc}") from exc

    def city_targets(self, city: Any) -> Any:
        """The :class:`~qamtu.targets.Targets` of a catalogue city: its own ``targets`` in ``cities.files``, else
        those of its class (:func:`qamtu.targets.licence_class`), people first when ``planning.people_first``."""
        t = self.targets_for(city.id, _licence.licence_class(city) == "republican")
        return _licence.Targets.people_first(t["territory_share"], t["population_share"],
                                             enabled=self.data["planning"]["people_first"],
                                             dl_p5_mbps=t["dl_p5_mbps"])

    def resolved(self) -> dict[str, Any]:
        """Every setting of the run as plain YAML/JSON types: :meth:`to_plain` with the engine's settings in full
        (each field of :class:`~qamtu.engine.EngineConfig`, defaults filled in; ``calibration`` as its file)."""
        out = self.to_plain()
        out["engine"] = engine_settings(self.engine_config(), calibration=self.data["engine"].get("calibration"))
        return out

    def to_yaml(self) -> str:
        """The resolved scenario (:meth:`resolved`) as YAML, with its source and the command-line options in a
        comment; the file alone reproduces the run."""
        import yaml

        head = f"# qamtu scenario, resolved (defaults filled in) from: {self.source}\n"
        return head + yaml.safe_dump(self.resolved(), sort_keys=False, allow_unicode=True)


def engine_settings(config: Any, calibration: str | None = None) -> dict[str, Any]:
    """Every field of an :class:`~qamtu.engine.EngineConfig` as plain YAML/JSON types (tuples as lists, the
    environment profiles as mappings); ``calibration`` is written as ``calibration`` (its file, or None)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if f.name == "environments":
            v = {k: dataclasses.asdict(p) for k, p in v.items()}
        elif f.name == "calibration":
            v = calibration
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


#: Longest text of a value quoted in an error message (a value from a file can be arbitrarily large).
MAX_SHOWN_CHARS = 120


def _short(value: Any) -> str:
    """``repr`` of ``value`` cut to :data:`MAX_SHOWN_CHARS` without formatting more than that of a big value."""
    if isinstance(value, (dict, list, tuple, set)):
        n = len(value)
        kind = type(value).__name__
        if n > 8:
            return f"<{kind} of {n} items>"
        parts = []
        size = 0
        for item in (value.items() if isinstance(value, dict) else value):
            text = _short(item)
            parts.append(text)
            size += len(text)
            if size > MAX_SHOWN_CHARS:
                break
        text = f"<{kind}: " + ", ".join(parts) + ">"
    elif isinstance(value, str):
        text = repr(value[: MAX_SHOWN_CHARS + 1])
    else:
        text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def _as_typed(value: Any) -> str:
    """A command-line value as the user typed it (dates ISO, lists comma-separated), cut like :func:`_short`."""
    if isinstance(value, _dt.date):
        text = value.isoformat()
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        text = ",".join(value)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = f"{value:g}" if isinstance(value, float) else str(value)
    else:
        return _short(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def load_scenario(path: str | os.PathLike[str] | None = None, *, preset: str | None = None) -> Scenario:
    """Read and validate a scenario file (``.yaml``/``.yml`` or ``.toml``); ``None`` gives the defaults.

    ``preset``: the preset (:data:`PRESETS`) of a file that names none (the command's own: ``national-fast`` for
    ``qamtu national``); a file's ``preset`` key wins.

    Raises
    ------
    DataFileError
        The file is missing or is not valid YAML/TOML.
    InvalidInputError
        A key is unknown, or a value has the wrong type or is out of range (the message names the key).
    """
    if path is None:
        return validate_scenario({}, source="built-in defaults", preset=preset)
    p = Path(path)
    if not p.is_file():
        what = "is a folder, not a file" if p.is_dir() else "does not exist"
        raise DataFileError(f"scenario file {p} {what}")
    suffix = p.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise DataFileError(f"scenario file {p}: unknown suffix {_short(suffix)}; allowed: .yaml, .yml, .toml")
    text = _read_text(p)
    try:
        if suffix == ".toml":
            import tomllib

            raw = tomllib.loads(text)
        else:
            raw = _safe_yaml(text, p)
    except DataFileError:
        raise
    except RecursionError as exc:
        raise DataFileError(f"scenario file {p} is nested too deeply to be a scenario") from exc
    except Exception as exc:  # yaml.YAMLError, tomllib.TOMLDecodeError: both carry the line
        detail = " ".join(str(exc).split())
        raise DataFileError(f"scenario file {p} is not valid {suffix[1:].upper()}: {_cut(detail, 300)}") from exc
    _check_size(raw, p)
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{p}: the scenario must be a mapping of keys, got {type(raw).__name__}")
    return validate_scenario(raw, source=str(p), base_dir=p.parent, preset=preset)


#: Largest scenario file read, bytes (a scenario is a page of keys; 1 MiB leaves room for long city lists).
MAX_SCENARIO_BYTES = 1 << 20
#: Most YAML aliases (``*name``) in a scenario file; more are refused before anything is built from them (a
#: "billion laughs" file of a few hundred bytes expands to gigabytes through nested aliases).
MAX_YAML_ALIASES = 100
#: Most values (mapping entries, list items, scalars) in a scenario once aliases are expanded.
MAX_SCENARIO_NODES = 100_000


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _read_text(p: Path) -> str:
    """The file as text: UTF-8 (a BOM is allowed); UTF-16, other encodings and binary files are named errors."""
    try:
        size = p.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise DataFileError(f"scenario file {p} has {size} bytes; the most allowed is {MAX_SCENARIO_BYTES} "
                                "(a scenario is a page of keys)")
        data = p.read_bytes()
    except DataFileError:
        raise
    except OSError as exc:
        raise DataFileError(f"scenario file {p} cannot be read: {exc.strerror or exc}") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataFileError(f"scenario file {p} is UTF-16 text; save it as UTF-8")
    if b"\x00" in data:
        raise DataFileError(f"scenario file {p} is a binary file (NUL bytes), not YAML/TOML text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFileError(f"scenario file {p} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}; "
                            "Latin-1 or Windows-1251?); save it as UTF-8") from exc


def _safe_yaml(text: str, p: Path) -> Any:
    """``yaml.safe_load`` with at most :data:`MAX_YAML_ALIASES` aliases (counted while parsing, before building)."""
    import yaml

    class Loader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
            if self.check_event(yaml.AliasEvent):
                Loader.aliases += 1
                if Loader.aliases > MAX_YAML_ALIASES:
                    mark = self.peek_event().start_mark
                    raise DataFileError(f"scenario file {p}, line {mark.line + 1}: more than {MAX_YAML_ALIASES} "
                                        "YAML aliases (*name); write the values out")
            return super().compose_node(parent, index)

    loader = Loader(text)
    try:
        return loader.get_single_data() or {}
    finally:
        loader.dispose()


def _check_size(raw: Any, p: Path) -> None:
    """Refuse a scenario with more than :data:`MAX_SCENARIO_NODES` values, counting aliases as expanded (the walk
    stops as soon as the count is passed, so it costs at most that many steps)."""
    count = 0
    stack = [raw]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_SCENARIO_NODES:
            raise DataFileError(f"scenario file {p} holds more than {MAX_SCENARIO_NODES} values (aliases "
                                "expanded); a scenario is a page of keys")
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def validate_scenario(raw: Mapping[str, Any], source: str = "scenario", base_dir: Path | None = None,
                      preset: str | None = None, check_files: bool = True) -> Scenario:
    """Merge ``raw`` over the preset's defaults (:data:`DEFAULT_SCENARIO` with :data:`PRESETS`) and validate every
    key (see the module docstring). ``preset``: the preset when ``raw`` names none (default ``standard``);
    ``check_files``: refuse a file key naming no existing file (False: its reader says so when it is used)."""
    v = _Validator(source, check_files)
    v.keys(raw, DEFAULT_SCENARIO, "")
    name = raw.get("preset", preset or "standard")
    if name not in PRESETS:
        v.fail("preset", name, "one of " + ", ".join(PRESETS))
    defaults = _deep_merge(DEFAULT_SCENARIO, {**PRESETS[name], "preset": name})
    data = copy.deepcopy(defaults)
    for key, value in raw.items():
        if isinstance(defaults[key], dict) and key not in ("engine",):
            v.mapping(value, key)
            if key in ("cities", "planning", "crews", "lead_times_months", "budget", "search", "targets", "inputs",
                       "report"):
                v.keys(value, defaults[key], key)
            for k2, x in value.items():
                if isinstance(defaults[key].get(k2), dict) and isinstance(x, Mapping):
                    data[key][k2] = {**defaults[key][k2], **x}
                else:
                    data[key][k2] = x
        else:
            data[key] = value

    if data["version"] != 1:
        v.fail("version", data["version"], "1")
    v.string(data, "name")
    v.string(data, "currency")
    for key in ("start", "deadline", "comparison_deadline"):
        data[key] = v.date(data[key], key)
    for key in ("deadline", "comparison_deadline"):
        if data[key] < data["start"]:
            v.fail(key, data[key].isoformat(), f"a date on or after start ({data['start'].isoformat()})")

    cities = data["cities"]
    if cities["ids"] != "all":
        if not (isinstance(cities["ids"], list) and cities["ids"] and all(isinstance(c, str) for c in cities["ids"])):
            v.fail("cities.ids", cities["ids"], '"all" or a non-empty list of city ids')
        if len(set(cities["ids"])) != len(cities["ids"]):
            v.fail("cities.ids", cities["ids"], "a list without repeated ids")
    v.mapping(cities["files"], "cities.files")
    files: dict[str, Any] = {}
    for city, entry in cities["files"].items():
        where = f"cities.files.{city}"
        v.mapping(entry, where)
        v.keys(entry, dict.fromkeys(_CITY_FILE_KEYS), where)
        out = {}
        for k, x in entry.items():
            if k == "targets":
                out[k] = v.targets(x, f"{where}.targets", partial=True)
                continue
            if not isinstance(x, str) or not x:
                v.fail(f"{where}.{k}", x, "a file path")
            if k == "dem" and x.strip().lower() == "flat":
                out[k] = "flat"
                continue
            fp = Path(x)
            if not fp.is_absolute() and base_dir is not None:
                fp = (base_dir / fp).resolve()
            if v.check_files and not fp.exists():
                v.fail(f"{where}.{k}", x, f"an existing file (looked for {fp})")
            out[k] = str(fp)
        files[city] = out
    cities["files"] = files

    _validate_planning(data["planning"], v)

    for cls in ("republican", "regional"):
        data["targets"][cls] = v.targets(data["targets"][cls], f"targets.{cls}", partial=False)
    v.mapping(data["engine"], "engine")
    data["engine"] = _check_engine_keys(data["engine"], v, base_dir)

    cr = data["crews"]
    v.choice(cr, "crews", "pools", ("national", "region", "operator"))
    v.integer(cr, "crews", "count", 0, MAX_CREWS)
    v.mapping(cr["per_pool"], "crews.per_pool")
    for pool in list(cr["per_pool"]):
        v.integer(cr["per_pool"], "crews.per_pool", pool, 0, MAX_CREWS)
    v.number(cr, "crews", "sites_per_crew_month", MIN_SITES_PER_CREW_MONTH, 1000.0)

    lt = data["lead_times_months"]
    data["lead_times_months"]["default"] = v.lead(lt["default"], "lead_times_months.default")
    v.mapping(lt["by_class"], "lead_times_months.by_class")
    lt["by_class"] = {c: v.lead(x, f"lead_times_months.by_class.{c}") for c, x in lt["by_class"].items()}

    bd = data["budget"]
    if bd["monthly"] is not None:
        v.number(bd, "budget", "monthly", 0.0, math.inf)
    if not isinstance(bd["carry_over"], bool):
        v.fail("budget.carry_over", bd["carry_over"], "true or false")

    pr = data["priority"]
    if isinstance(pr, str):
        if pr not in ("people-per-cost", "city-by-city"):
            v.fail("priority", pr, '"people-per-cost", "city-by-city" or a list of city ids / "city/site" keys')
    elif not (isinstance(pr, list) and pr and all(isinstance(x, str) for x in pr)):
        v.fail("priority", pr, '"people-per-cost", "city-by-city" or a list of city ids / "city/site" keys')

    for key in ("decisions", "measurements"):
        data["inputs"][key] = v.path(data["inputs"][key], f"inputs.{key}", base_dir)
    rp = data["report"]
    v.choice(rp, "report", "lang", ("en", "ru", "kk"))
    v.choice(rp, "report", "basemap", ("none", "osm"))
    for key in ("pdf", "sensitivity", "png", "per_metric_tiffs"):
        if not isinstance(rp[key], bool):
            v.fail(f"report.{key}", rp[key], "true or false")
    for key in ("audit", "calibrate"):
        v.mapping(data[key], key)
    _validate_operators(data, raw, source, base_dir, check_files)
    v.choice(data["search"], "search", "resource", ("crews", "budget", "none"))
    v.choice(data["search"], "search", "method", ("auto", "bisect", "linear"))
    return Scenario(data, source)


#: Keys an operator may override (everything else is shared by all operators).
OPERATOR_KEYS = ("targets", "cities", "planning", "crews", "budget")


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, x in over.items():
        out[k] = _deep_merge(out[k], x) if isinstance(out.get(k), Mapping) and isinstance(x, Mapping) else x
    return out


def _validate_operators(data: dict[str, Any], raw: Mapping[str, Any], source: str, base_dir: Path | None,
                        check_files: bool = True) -> None:
    """Each operator's overrides, validated as a whole scenario (the shared keys merged with its own)."""
    ops = data["operators"]
    if not isinstance(ops, Mapping):
        raise InvalidInputError(f"{source}: key 'operators' = {ops!r} is not allowed; expected a mapping of "
                                "operator name -> overrides")
    shared = {k: x for k, x in raw.items() if k != "operators"}
    shared["preset"] = data["preset"]
    resolved = {}
    for name, over in ops.items():
        if not isinstance(over, Mapping):
            raise InvalidInputError(f"{source}: key 'operators.{name}' = {over!r} is not allowed; expected a mapping "
                                    f"of {', '.join(OPERATOR_KEYS)}")
        bad = [k for k in over if k not in OPERATOR_KEYS]
        if bad:
            raise InvalidInputError(f"{source}: unknown key 'operators.{name}.{bad[0]}'; allowed here: "
                                    f"{', '.join(OPERATOR_KEYS)}")
        sub = validate_scenario(_deep_merge(shared, over), source=f"{source} (operator {name})", base_dir=base_dir,
                                check_files=check_files)
        resolved[str(name)] = {k: copy.deepcopy(sub.data[k]) for k in over}  # paths resolved, defaults filled
    data["operators"] = resolved


def operator_scenario(scenario: "Scenario", name: str) -> "Scenario":
    """The scenario of one operator: the shared keys with the operator's overrides, validated."""
    plain = scenario.to_plain()
    over = plain.pop("operators")[name]
    return validate_scenario(_deep_merge(plain, over), source=f"{scenario.source} (operator {name})")


def _validate_planning(pl: dict[str, Any], v: "_Validator") -> None:
    """The ``planning`` keys (see the module docstring)."""
    v.number(pl, "planning", "resolution_m", 1.0, 5000.0)
    if pl["candidate_spacing_m"] is not None:
        v.number(pl, "planning", "candidate_spacing_m", 50.0, 20000.0)
    v.number(pl, "planning", "candidate_cost", 0.0, math.inf)
    v.number(pl, "planning", "time_limit_s", 0.0, 36000.0, strict_low=True)
    v.choice(pl, "planning", "method", ("milp", "greedy"))
    v.number(pl, "planning", "mip_rel_gap", 0.0, 0.99)
    v.integer(pl, "planning", "max_repairs", 0, 1000)
    if pl["budget"] is not None:
        v.number(pl, "planning", "budget", 0.0, math.inf)
    if pl["demand_block_m"] is not None:
        v.number(pl, "planning", "demand_block_m", 0.0, 5000.0, strict_low=True)
    for key in ("lock", "exclude"):
        x = pl[key]
        if not (isinstance(x, list) and all(isinstance(i, str) and i for i in x)):
            v.fail(f"planning.{key}", x, "a list of site ids")
    if not isinstance(pl["people_first"], bool):
        v.fail("planning.people_first", pl["people_first"], "true or false")
    v.number(pl, "planning", "colocation_cost_factor", 0.0, 1.0)
    cap = pl["capacity"]
    v.mapping(cap, "planning.capacity")
    v.keys(cap, DEFAULT_SCENARIO["planning"]["capacity"], "planning.capacity")
    if not isinstance(cap["enabled"], bool):
        v.fail("planning.capacity.enabled", cap["enabled"], "true or false")
    v.number(cap, "planning.capacity", "take_up", 0.0, 1.0)
    v.number(cap, "planning.capacity", "active_share", 0.0, 1.0)
    v.number(cap, "planning.capacity", "rate_per_active_user_mbps", 0.0, 1e5)
    if cap["target_load"] is not None:
        v.number(cap, "planning.capacity", "target_load", 0.0, 1.0, strict_low=True)


def _check_engine_keys(engine: Mapping[str, Any], v: "_Validator", base_dir: Path | None) -> dict[str, Any]:
    """Engine knobs must be fields of ``qamtu.engine.EngineConfig``; ``calibration`` is a file (resolved against
    the scenario's folder), ``environments`` a mapping of class -> profile; the values themselves are checked when
    the configuration is built (:meth:`Scenario.engine_config`)."""
    from qamtu.engine.config import EngineConfig

    names = {f.name for f in dataclasses.fields(EngineConfig)}
    out = dict(engine)
    for k, x in engine.items():
        if k not in names:
            v.fail(f"engine.{k}", x, f"a field of EngineConfig: {', '.join(sorted(names))}")
        if k == "calibration":
            out[k] = v.path(x, "engine.calibration", base_dir)
        elif k == "environments":
            v.mapping(x, "engine.environments")
            for c, prof in x.items():
                v.mapping(prof, f"engine.environments.{c}")
        elif x is not None and (not isinstance(x, (int, float, str, bool, list)) or isinstance(x, dict)):
            v.fail(f"engine.{k}", x, "a number, string, boolean or list")
    return out


class _Validator:
    def __init__(self, source: str, check_files: bool = True) -> None:
        self.source = source
        self.check_files = check_files

    def fail(self, key: str, value: Any, allowed: str) -> None:
        raise InvalidInputError(
            f"{self.source}: key {_short(key)} = {_short(value)} is not allowed; expected {allowed}")

    def keys(self, given: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
        for k in given:
            if k not in known:
                name = f"{where}.{k}" if where else str(k)
                raise InvalidInputError(
                    f"{self.source}: unknown key {_short(name)}; allowed here: {', '.join(map(str, known))}"
                )

    def path(self, value: Any, key: str, base_dir: Path | None) -> str | None:
        """None, or an existing file (relative to ``base_dir``) as an absolute path."""
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.fail(key, value, "a file path or null")
        fp = Path(value)
        if not fp.is_absolute() and base_dir is not None:
            fp = (base_dir / fp).resolve()
        if self.check_files and not fp.is_file():
            self.fail(key, value, f"an existing file (looked for {fp})")
        return str(fp)

    def mapping(self, value: Any, key: str) -> None:
        if not isinstance(value, Mapping):
            self.fail(key, value, "a mapping of keys")

    def string(self, d: Mapping[str, Any], key: str) -> None:
        if not isinstance(d[key], str):
            self.fail(key, d[key], "a string")

    def date(self, value: Any, key: str) -> _dt.date:
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, str):
            try:
                return _dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(key, value, "a date YYYY-MM-DD")
        raise AssertionError  # pragma: no cover

    def number(
        self, d: dict, where: str, key: str, lo: float, hi: float, *, strict_low: bool = False
    ) -> None:
        x = d[key]
        ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
        ok = ok and (x > lo if strict_low else x >= lo) and x <= hi
        if not ok:
            rng = f"{'>' if strict_low else '>='} {lo:g}" + (f" and <= {hi:g}" if math.isfinite(hi) else "")
            self.fail(f"{where}.{key}", x, f"a number {rng}")
        d[key] = float(x)

    def integer(self, d: dict, where: str, key: str, lo: int, hi: int) -> None:
        x = d[key]
        if not (isinstance(x, int) and not isinstance(x, bool) and lo <= x <= hi):
            self.fail(f"{where}.{key}", x, f"an integer from {lo} to {hi}")

    def choice(self, d: dict, where: str, key: str, allowed: tuple[str, ...]) -> None:
        if d[key] not in allowed:
            self.fail(f"{where}.{key}", d[key], "one of " + ", ".join(allowed))

    def targets(self, x: Any, where: str, *, partial: bool) -> dict[str, float | None]:
        self.mapping(x, where)
        self.keys(x, dict.fromkeys(_TARGET_KEYS), where)
        out = {} if partial else {k: None for k in _TARGET_KEYS}
        for k, val in x.items():
            if val is None:
                out[k] = None
                continue
            if k == "dl_p5_mbps":
                ok = isinstance(val, (int, float)) and not isinstance(val, bool) and 0 <= val <= 1e5
                if not ok:
                    self.fail(f"{where}.{k}", val, "null or a number of Mbit/s from 0 to 100000")
            elif not (isinstance(val, (int, float)) and not isinstance(val, bool) and 0 < val <= 1):
                self.fail(f"{where}.{k}", val, "null or a share in (0, 1]")
            out[k] = float(val)
        if not partial and out["territory_share"] is None and out["population_share"] is None:
            self.fail(where, x, "at least one of territory_share, population_share")
        return out

    def lead(self, x: Any, where: str) -> dict[str, int]:
        self.mapping(x, where)
        self.keys(x, dict.fromkeys(_LEAD_KEYS), where)
        out = {}
        for k in _LEAD_KEYS:
            if k not in x:
                self.fail(f"{where}.{k}", None, "an integer number of months >= 0 (all of permits, power, backhaul)")
            if not (isinstance(x[k], int) and not isinstance(x[k], bool) and 0 <= x[k] <= 240):
                self.fail(f"{where}.{k}", x[k], "an integer number of months from 0 to 240")
            out[k] = int(x[k])
        return out
