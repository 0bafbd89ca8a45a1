"""The catalogue of Kazakhstan's 20 regional centres (package data ``qamtu/data/kz_regional_centres.csv``).

Each row keeps its sources (``source_coords``, ``source_area``, ``source_population``) and the population keeps
its reference date; see ``qamtu/data/kz_regional_centres.SOURCE.md`` for the caveats (conflicting areas, dates).
An empty cell is read as ``None``: nothing reliable was found, and qamtu never invents a value.
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import io
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

from qamtu.errors import DataFileError, where
from qamtu.geo.names import match_city

__all__ = ["City", "CATALOGUE_RESOURCE", "load_cities", "get_city", "city_ids"]

#: Package-relative location of the catalogue CSV.
CATALOGUE_RESOURCE = "data/kz_regional_centres.csv"

_REQUIRED = (
    "id",
    "name_en",
    "name_ru",
    "name_kk",
    "region_en",
    "status",
    "lat",
    "lon",
    "area_km2",
    "area_scope",
    "population",
    "population_date",
    "elevation_m",
    "source_coords",
    "source_area",
    "source_population",
)


@dataclass(frozen=True)
class City:
    """One regional centre of the catalogue.

    Attributes
    ----------
    id : str
        Short lower-case identifier used on the command line (``"almaty"``, ``"konaev"``).
    name_en, name_ru, name_kk : str
        Names in English, Russian and Kazakh.
    region_en : str
        The region (oblast) the city is the centre of, or the city itself for the 3 cities of republican
        significance.
    status : str
        ``"city_of_republican_significance"`` or ``"oblast_centre"``.
    lat, lon : float
        Centre point, WGS 84 degrees (infobox point, good to about 1 km).
    area_km2 : float or None
        City area in km2 from the source named in ``source_area``; ``None`` where no reliable figure exists.
    area_scope : str
        ``"city"`` (city proper) or ``"unknown"`` (may include settlements under the city's administration).
    population : int
        Residents at ``population_date`` (Bureau of National Statistics estimate).
    population_date : datetime.date
        Reference date of ``population``.
    elevation_m : float or None
        Elevation above sea level in metres, ``None`` where the sources give none.
    source_coords, source_area, source_population : str
        Where each figure comes from.
    """

    id: str
    name_en: str
    name_ru: str
    name_kk: str
    region_en: str
    status: str
    lat: float
    lon: float
    area_km2: float | None
    area_scope: str
    population: int
    population_date: _dt.date
    elevation_m: float | None
    source_coords: str = ""
    source_area: str = ""
    source_population: str = ""

    @property
    def population_label(self) -> str:
        """Population with its date, e.g. ``"2,347,924 (2026-01-01)"``: never show one without the other."""
        return f"{self.population:,} ({self.population_date.isoformat()})"

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON mapping of every field (the date as ISO text)."""
        d = asdict(self)
        d["population_date"] = self.population_date.isoformat()
        return d


def _parse_row(row: dict[str, str], source: str, row_no: int) -> City:
    def text(field: str) -> str:
        return (row.get(field) or "").strip()

    def number(field: str, *, optional: bool) -> float | None:
        raw = text(field)
        if raw == "":
            if optional:
                return None
            raise DataFileError(f"{where(source, row_no, field)}: empty; a value is required")
        try:
            return float(raw)
        except ValueError:
            raise DataFileError(f"{where(source, row_no, field)}: {raw!r} is not a number") from None

    lat = number("lat", optional=False)
    lon = number("lon", optional=False)
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:  # type: ignore[operator]
        raise DataFileError(f"{where(source, row_no, 'lat')}: ({lat}, {lon}) is not a WGS 84 lat/lon pair")
    area = number("area_km2", optional=True)
    if area is not None and area <= 0:
        raise DataFileError(f"{where(source, row_no, 'area_km2')}: {area} must be > 0 km2 (or empty)")
    population = number("population", optional=False)
    if population is None or population <= 0 or population != int(population):
        raise DataFileError(f"{where(source, row_no, 'population')}: {population} must be a positive integer")
    try:
        pop_date = _dt.date.fromisoformat(text("population_date"))
    except ValueError:
        raise DataFileError(
            f"{where(source, row_no, 'population_date')}: {text('population_date')!r} is not an ISO date (YYYY-MM-DD)"
        ) from None
    city_id = text("id")
    if not city_id:
        raise DataFileError(f"{where(source, row_no, 'id')}: empty; every city needs an id")
    return City(
        id=city_id,
        name_en=text("name_en"),
        name_ru=text("name_ru"),
        name_kk=text("name_kk"),
        region_en=text("region_en"),
        status=text("status"),
        lat=float(lat),  # type: ignore[arg-type]
        lon=float(lon),  # type: ignore[arg-type]
        area_km2=area,
        area_scope=text("area_scope") or "unknown",
        population=int(population),
        population_date=pop_date,
        elevation_m=number("elevation_m", optional=True),
        source_coords=text("source_coords"),
        source_area=text("source_area"),
        source_population=text("source_population"),
    )


def parse_catalogue(text: str, source: str = "kz_regional_centres.csv") -> list[City]:
    """Parse catalogue CSV text into cities (used by :func:`load_cities`; public for tests and user catalogues).

    Raises
    ------
    DataFileError
        Missing columns, empty file, unparsable or duplicate values; the message names file, row and field.
    """
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise DataFileError(f"{source}: empty file; expected a header with {', '.join(_REQUIRED)}")
    missing = [c for c in _REQUIRED if c not in reader.fieldnames]
    if missing:
        raise DataFileError(f"{source}: missing column(s) {', '.join(missing)}")
    cities = [_parse_row(row, source, i) for i, row in enumerate(reader, start=1)]
    if not cities:
        raise DataFileError(f"{source}: no data rows")
    seen: dict[str, int] = {}
    for i, c in enumerate(cities, start=1):
        if c.id in seen:
            raise DataFileError(f"{where(source, i, 'id')}: duplicate id {c.id!r} (first in row {seen[c.id]})")
        seen[c.id] = i
    return cities


@functools.lru_cache(maxsize=1)
def _load() -> tuple[City, ...]:
    text = resources.files("qamtu").joinpath(CATALOGUE_RESOURCE).read_text(encoding="utf-8")
    return tuple(parse_catalogue(text, source=CATALOGUE_RESOURCE))


def load_cities() -> list[City]:
    """Return the 20 regional centres in catalogue order (a new list; the cities are immutable)."""
    return list(_load())


def city_ids() -> list[str]:
    """Identifiers of the catalogue's cities, in catalogue order."""
    return [c.id for c in _load()]


def get_city(city_id: str) -> City:
    """Return the city that ``city_id`` names: its id or its name in English, Russian or Kazakh, any case, or a
    former name (:func:`qamtu.geo.names.match_city`).

    Raises
    ------
    InvalidInputError
        Unknown name; the message suggests the closest names and lists the known ids.
    """
    return match_city(city_id, _load())  # ids, names in en/ru/kk, former names; "did you mean" when unknown
