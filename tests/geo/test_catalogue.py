"""The catalogue of the 20 regional centres (source: shared/data/kz_regional_centres.csv, see SOURCE.md)."""

import datetime as dt

import pytest

from qamtu.errors import DataFileError, InvalidInputError
from qamtu.geo.catalogue import City, get_city, load_cities, parse_catalogue

# The 17 region centres after the reform of 8 June 2022 plus the 3 cities of republican significance
# (docs/reference/kazakhstan.md, "The task").
KNOWN_IDS = {
    "astana", "almaty", "shymkent", "semey", "kokshetau", "aktobe", "konaev", "atyrau", "oskemen", "taraz",
    "taldykorgan", "karaganda", "kostanay", "kyzylorda", "aktau", "petropavl", "pavlodar", "turkistan",
    "zhezkazgan", "oral",
}


def test_catalogue_has_the_20_known_cities():
    cities = load_cities()
    assert len(cities) == 20
    assert {c.id for c in cities} == KNOWN_IDS
    assert sum(c.status == "city_of_republican_significance" for c in cities) == 3


def test_values_are_typed_and_keep_their_dates_and_sources():
    almaty = get_city("Almaty")
    assert almaty.population == 2_347_924
    assert almaty.population_date == dt.date(2026, 1, 1)
    assert almaty.area_km2 == pytest.approx(682.0)
    assert "2026-01-01" in almaty.population_label
    assert almaty.source_population and almaty.source_area and almaty.source_coords
    # Konaev has no elevation in the sources: None, never an invented figure
    assert get_city("konaev").elevation_m is None
    for c in load_cities():
        assert 40.0 < c.lat < 56.0 and 46.0 < c.lon < 88.0  # inside Kazakhstan's extent


def test_unknown_city_lists_the_known_ids():
    with pytest.raises(InvalidInputError, match="known ids: astana"):
        get_city("gotham")


HEADER = (
    "id,name_en,name_ru,name_kk,region_en,status,lat,lon,area_km2,area_scope,population,population_date,"
    "elevation_m,source_coords,source_area,source_population\n"
)


def test_missing_area_is_none_and_bad_rows_are_named():
    cities = parse_catalogue(HEADER + "x,X,X,X,R,oblast_centre,45,70,,unknown,1000,2023-01-01,,s,s,s\n")
    assert cities[0].area_km2 is None and cities[0].elevation_m is None
    with pytest.raises(DataFileError, match=r"row 1, field 'population'"):
        parse_catalogue(HEADER + "x,X,X,X,R,oblast_centre,45,70,10,unknown,many,2023-01-01,,s,s,s\n", "c.csv")
    with pytest.raises(DataFileError, match=r"row 2, field 'id': duplicate"):
        row = "x,X,X,X,R,oblast_centre,45,70,10,unknown,10,2023-01-01,,s,s,s\n"
        parse_catalogue(HEADER + row + row)
    with pytest.raises(DataFileError, match="empty file"):
        parse_catalogue("")


def test_city_is_frozen():
    c = get_city("taraz")
    assert isinstance(c, City)
    with pytest.raises(AttributeError):
        c.population = 1  # type: ignore[misc]
