"""Country names as rules test them: one spelling per country, whatever the list wrote.

Lists name countries their own ways: OFAC writes "Korea, North" and
"Burma", the EU and the Consolidated Screening List give ISO codes, the UN
writes "Democratic People's Republic of Korea". A rule asking for
``North Korea`` must meet the same words from every list, and Hong Kong and
Macau must never read as mainland China, nor the reverse: rules tell them
apart.

The ISO 3166 table comes from pycountry (every code and official name,
kept up to date with the standard, rather than a table of our own); the
spelling shown is its common name where it has one, else a plainer one
chosen here for the countries the desk names most.
"""

from __future__ import annotations

import functools

import pycountry

_SHOWN_BY_CODE = {
    "CN": "China",
    "HK": "Hong Kong",
    "MO": "Macau",
    "TW": "Taiwan",
    "KP": "North Korea",
    "KR": "South Korea",
    "RU": "Russia",
    "TR": "Turkey",
    "MM": "Burma",
    "CD": "Democratic Republic of the Congo",
    "CG": "Republic of the Congo",
    "PS": "Palestinian Territories",
    "VA": "Vatican City",
    "BN": "Brunei",
    "CZ": "Czech Republic",
    "CI": "Ivory Coast",
}
"""Where ISO's name is not what a desk writes (nor what OFAC writes)."""

_MORE_NAMES = {
    "korea, north": "KP",
    "korea, south": "KR",
    "dprk": "KP",
    "republic of korea": "KR",
    "prc": "CN",
    "mainland china": "CN",
    "people's republic of china": "CN",
    "china, people's republic of": "CN",
    "hong kong sar": "HK",
    "hong kong, china": "HK",
    "hong kong sar, china": "HK",
    "hong kong special administrative region": "HK",
    "hong kong special administrative region, china": "HK",
    "hong kong special administrative region of china": "HK",
    "macao special administrative region, china": "MO",
    "china, hong kong special administrative region": "HK",
    "macau": "MO",
    "macao, china": "MO",
    "china, macao special administrative region": "MO",
    "taiwan, china": "TW",
    "republic of china": "TW",
    "republic of china (taiwan)": "TW",
    "russia": "RU",
    "turkey": "TR",
    "turkiye": "TR",
    "burma": "MM",
    "iran": "IR",
    "syria": "SY",
    "uae": "AE",
    "usa": "US",
    "united states of america": "US",
    "uk": "GB",
    "great britain": "GB",
    "congo, democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "dr congo": "CD",
    "drc": "CD",
    "congo, republic of the": "CG",
    "republic of the congo": "CG",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
    "czech republic": "CZ",
    "vietnam": "VN",
    "laos": "LA",
    "west bank": "PS",
    "gaza": "PS",
}
"""Spellings lists use that ISO's table lacks."""

_REGIONS = frozenset({"HK", "MO", "TW"})
"""Places a list may write as a part of China: never folded into it."""


def country_name(text: str) -> str:
    """The one spelling rules use for the country ``text`` names: an ISO
    3166 two- or three-letter code, or a name as a list writes it. A
    country nobody knows keeps the list's own words (in title case when
    the list shouts them, unless they are a code); empty text stays empty."""
    words = " ".join(text.split())
    if not words:
        return ""
    table = _table()
    if words.isalpha() and words.isupper() and len(words) in (2, 3):
        code = table.by_code.get(words)
        if code is not None:
            return table.shown[code]
    code = table.by_name.get(words.casefold())
    if code is None and "(" in words:
        outer, _, rest = words.partition("(")
        inner = table.by_name.get(rest.partition(")")[0].strip().casefold())
        # "China (Hong Kong)" is Hong Kong; "Iran (Islamic Republic of)" is Iran.
        code = inner if inner in _REGIONS else table.by_name.get(outer.strip().casefold())
    if code is not None:
        return table.shown[code]
    if words.isalpha() and words.isupper() and len(words) <= 3:
        return words  # a code nobody knows ("XK"): a code still, not a word
    return words.title() if words.isupper() else words


class _Table:
    def __init__(self) -> None:
        self.shown: dict[str, str] = {}
        self.by_code: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        for country in pycountry.countries:
            code = str(country.alpha_2)
            common = getattr(country, "common_name", None)
            self.shown[code] = _SHOWN_BY_CODE.get(code) or str(common or country.name)
            self.by_code[code] = code
            self.by_code[str(country.alpha_3)] = code
            for name in (country.name, common, getattr(country, "official_name", None)):
                if name:
                    self.by_name.setdefault(str(name).casefold(), code)
        for name, code in _MORE_NAMES.items():
            self.by_name[name] = code
        for code, shown in _SHOWN_BY_CODE.items():
            self.by_name.setdefault(shown.casefold(), code)


@functools.cache
def _table() -> _Table:
    return _Table()
