"""City names as people type them: English, Russian or Kazakh, any case, and former names.

:func:`match_city` maps ``"Almaty"``, ``"алматы"``, ``"Уральск"``, ``"Ust-Kamenogorsk"``, ``"Nur-Sultan"`` or
``"Kapchagay"`` to the catalogue id; an unknown name raises with the closest names ("did you mean ...?",
difflib's ratio on the case-folded names, which also catches ``"almty"``).

Former names (official renamings; Kazakhstan's government decrees, summarised in the ru/kk Wikipedia articles):

* Astana: Akmolinsk (until 1961), Tselinograd (1961-1992), Akmola (1992-1998), Nur-Sultan (2019-2022)
* Konaev: Kapchagay / Qapshaghay (until 2022)
* Oral: Uralsk; Oskemen: Ust-Kamenogorsk; Petropavl: Petropavlovsk; Semey: Semipalatinsk (until 2007)
* Taraz: Dzhambul / Zhambyl (until 1997); Aktau: Shevchenko (1964-1991); Kyzylorda: Kzyl-Orda;
  Turkistan: Turkestan; Almaty: Alma-Ata (until 1993); Aktobe: Aktyubinsk (until 1999);
  Karaganda: Karagandy / Qaraghandy (Kazakh romanisation); Kostanay: Kustanay; Atyrau: Guryev (until 1992);
  Zhezkazgan: Dzhezkazgan; Taldykorgan: Taldy-Kurgan; Kokshetau: Kokchetav (until 1993); Shymkent: Chimkent.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

from qamtu.errors import InvalidInputError

#: Former and alternative spellings -> catalogue id (keys are compared after :func:`fold`).
FORMER_NAMES: dict[str, str] = {
    "akmolinsk": "astana", "tselinograd": "astana", "akmola": "astana", "nur-sultan": "astana",
    "nursultan": "astana", "нур-султан": "astana", "целиноград": "astana", "акмола": "astana",
    "акмолинск": "astana",
    "alma-ata": "almaty", "alma ata": "almaty", "алма-ата": "almaty",
    "chimkent": "shymkent", "чимкент": "shymkent",
    "semipalatinsk": "semey", "семипалатинск": "semey", "semei": "semey",
    "kokchetav": "kokshetau", "кокчетав": "kokshetau",
    "aktyubinsk": "aktobe", "актюбинск": "aktobe",
    "kapchagay": "konaev", "kapchagai": "konaev", "qapshaghay": "konaev", "капчагай": "konaev",
    "қапшағай": "konaev", "kunaev": "konaev", "qonaev": "konaev",
    "guryev": "atyrau", "gurev": "atyrau", "гурьев": "atyrau",
    "ust-kamenogorsk": "oskemen", "ust kamenogorsk": "oskemen", "ustkamenogorsk": "oskemen",
    "oskemen": "oskemen", "öskemen": "oskemen",
    "dzhambul": "taraz", "zhambyl": "taraz", "jambyl": "taraz", "джамбул": "taraz", "жамбыл": "taraz",
    "taldy-kurgan": "taldykorgan", "талды-курган": "taldykorgan",
    "karagandy": "karaganda", "qaraghandy": "karaganda",
    "kustanay": "kostanay", "qostanay": "kostanay", "кустанай": "kostanay",
    "kzyl-orda": "kyzylorda", "qyzylorda": "kyzylorda", "кзыл-орда": "kyzylorda",
    "shevchenko": "aktau", "шевченко": "aktau",
    "petropavlovsk": "petropavl", "петропавл": "petropavl",
    "turkestan": "turkistan", "туркестан": "turkistan",
    "dzhezkazgan": "zhezkazgan", "джезказган": "zhezkazgan", "jezkazgan": "zhezkazgan",
    "uralsk": "oral", "orál": "oral",
}


def fold(name: str) -> str:
    """Case-folded, NFC-normalised, inner whitespace collapsed; ``ё`` read as ``е``."""
    text = unicodedata.normalize("NFC", str(name)).casefold().strip().replace("ё", "е")
    return re.sub(r"\s+", " ", text)


def _names(city) -> list[str]:
    out = [city.id, city.name_en, city.name_ru, city.name_kk]
    # "Oskemen (Ust-Kamenogorsk)": the part before the brackets and the bracketed one
    for n in list(out):
        m = re.match(r"^(.*?)\s*\((.*)\)\s*$", n or "")
        if m:
            out += [m.group(1), m.group(2)]
    return [n for n in out if n]


def name_index(cities: Iterable) -> dict[str, str]:
    """Every known spelling (folded) -> catalogue id: ids, names in three languages, former names."""
    index: dict[str, str] = {}
    ids = set()
    for c in cities:
        ids.add(c.id)
        for n in _names(c):
            index.setdefault(fold(n), c.id)
    for alias, cid in FORMER_NAMES.items():
        if cid in ids:
            index.setdefault(fold(alias), cid)
    return index


def suggestions(name: str, cities: Iterable, n: int = 3) -> list[str]:
    """Catalogue ids whose spellings are closest to ``name`` (best first, at most ``n``)."""
    index = name_index(cities)
    close = difflib.get_close_matches(fold(name), list(index), n=10, cutoff=0.6)
    out: list[str] = []
    for spelling in close:
        if index[spelling] not in out:
            out.append(index[spelling])
    return out[:n]


def match_city(name: str, cities: Iterable):
    """The city of ``cities`` that ``name`` names (see the module docstring).

    Raises
    ------
    InvalidInputError
        No city has that name; the message suggests the closest ones and lists the ids.
    """
    cities = list(cities)
    index = name_index(cities)
    cid = index.get(fold(name))
    if cid is not None:
        return next(c for c in cities if c.id == cid)
    close = suggestions(name, cities)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise InvalidInputError(
        f"unknown city {name!r}; {hint}known ids: {', '.join(c.id for c in cities)} "
        "(names in English, Russian or Kazakh and former names such as Uralsk or Nur-Sultan work too)")
