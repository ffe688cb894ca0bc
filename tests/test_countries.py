"""One spelling per country, whatever the list wrote; Hong Kong never China."""

from __future__ import annotations

import pytest

from monitor.domain.countries import country_name


@pytest.mark.parametrize(
    ("written", "spelt"),
    [
        ("CN", "China"),
        ("CHN", "China"),
        ("China", "China"),
        ("People's Republic of China", "China"),
        ("HK", "Hong Kong"),
        ("HONG KONG", "Hong Kong"),
        ("Hong Kong, China", "Hong Kong"),
        ("China (Hong Kong)", "Hong Kong"),
        ("Hong Kong Special Administrative Region, China", "Hong Kong"),
        ("China (Macau)", "Macau"),
        ("Republic of China", "Taiwan"),
        ("Taiwan, Province of China", "Taiwan"),
        ("Korea, North", "North Korea"),
        ("Democratic People's Republic of Korea", "North Korea"),
        ("KP", "North Korea"),
        ("Russian Federation", "Russia"),
        ("Iran (Islamic Republic of)", "Iran"),
        ("Türkiye", "Turkey"),
        ("PA", "Panama"),
        ("XK", "XK"),  # a code no table knows stays a code
        ("NARNIA", "Narnia"),
        ("  ", ""),
    ],
)
def test_country_spellings(written: str, spelt: str) -> None:
    assert country_name(written) == spelt
