"""Countries and the places within them that the desk's news names.

Facts, kept compact: a country by its names, adjectives and capital; a
locality (city, region, sea) by its spellings, with the country it lies in.
A country is one term however named ("U.S.", "Washington", "American"),
because a headline names a government by its capital as often as by its
name. A locality is a term of its own: "Explosion in Kharkiv" and "Explosion
in Odesa" are two events, though both in Ukraine.

Words are lower case; an underscore joins the words of one name, a slash
separates spellings of one locality (the first is the term).
"""

from __future__ import annotations

from collections.abc import Mapping

COUNTRIES = """
US us usa united_states america american americans washington
UK uk britain british united_kingdom london; EU eu european_union brussels
CN china chinese beijing prc mainland_china; HK hong_kong; TW taiwan taiwanese taipei
RU russia russian russians moscow kremlin; BY belarus belarusian minsk
UA ukraine ukrainian ukrainians kyiv kiev; PL poland polish warsaw
KP north_korea north_korean north_koreans dprk pyongyang
KR south_korea south_korean south_koreans seoul; JP japan japanese tokyo
IR iran iranian iranians tehran; IQ iraq iraqi baghdad; SY syria syrian damascus
IL israel israeli israelis; TR turkey turkish turkiye ankara; IN india indian new_delhi
FR france french paris; DE germany german berlin; IT italy italian rome
CA canada canadian ottawa; AU australia australian canberra; NZ new_zealand
CH switzerland swiss bern; NL netherlands dutch; SA saudi_arabia saudi riyadh
VE venezuela venezuelan caracas; MM myanmar burma burmese naypyidaw; VN vietnam vietnamese hanoi
TH thailand thai bangkok; PK pakistan pakistani islamabad; KZ kazakhstan astana
LB lebanon lebanese beirut; YE yemen yemeni sanaa; QA qatar qatari doha
AE uae united_arab_emirates emirati abu_dhabi; EG egypt egyptian cairo; JO jordan jordanian amman
PS palestine palestinian palestinians; AF afghanistan afghan kabul; MD moldova moldovan chisinau
LT lithuania lithuanian vilnius; LV latvia latvian riga; EE estonia estonian tallinn
FI finland finnish helsinki; SE sweden swedish stockholm; NO norway norwegian oslo
HU hungary hungarian budapest; SK slovakia slovak bratislava; CZ czech czechia prague
RO romania romanian bucharest; BG bulgaria bulgarian sofia; RS serbia serbian belgrade
PH philippines philippine filipino manila; ID indonesia indonesian jakarta
MY malaysia malaysian kuala_lumpur; SG singapore singaporean; MN mongolia mongolian ulaanbaatar
CU cuba cuban havana; BR brazil brazilian brasilia; MX mexico mexican
ZA south_africa south_african pretoria; AM armenia armenian yerevan
AZ azerbaijan azerbaijani baku; UZ uzbekistan uzbek tashkent; LY libya libyan tripoli
ES spain spanish madrid; GR greece greek athens; AT austria austrian vienna
"""

LOCALITIES = """
UA kyiv/kiev kharkiv/kharkov odesa/odessa dnipro/dnipropetrovsk
   zaporizhzhia/zaporizhia/zaporozhye/zaporizhzhya lviv/lvov mykolaiv/mykolayiv/nikolaev kherson
   donetsk luhansk/lugansk mariupol bakhmut/artemovsk avdiivka/avdeyevka pokrovsk kramatorsk
   sloviansk/slovyansk/slavyansk sumy chernihiv poltava vinnytsia zhytomyr rivne lutsk ternopil
   ivano_frankivsk uzhhorod chernivtsi cherkasy kropyvnytskyi khmelnytskyi izium/izyum kupiansk
   vuhledar chasiv_yar toretsk sievierodonetsk/severodonetsk lysychansk melitopol berdiansk
   enerhodar nova_kakhovka bucha irpin hostomel crimea sevastopol simferopol kerch donbas/donbass
RU moscow kursk belgorod bryansk voronezh rostov krasnodar novorossiysk sochi kazan yekaterinburg
   novosibirsk vladivostok khabarovsk murmansk kaliningrad volgograd samara nizhny_novgorod
   st_petersburg/saint_petersburg lipetsk pskov smolensk saratov tatarstan chechnya grozny
   dagestan siberia sudzha tyumen omsk krasnoyarsk irkutsk chelyabinsk sakhalin kamchatka
KP pyongyang wonsan sinuiju kaesong nampo hamhung chongjin yongbyon punggye_ri sohae
KR seoul busan/pusan incheon daegu daejeon gwangju ulsan jeju muan pohang suwon pyeongtaek
   panmunjom yongsan gyeonggi gangwon
CN beijing shanghai tianjin guangzhou shenzhen chongqing wuhan chengdu xian/xi'an hangzhou
   nanjing shenyang dalian qingdao xiamen harbin kunming urumqi lhasa xinjiang tibet shandong
   guangdong fujian zhejiang jiangsu hainan yunnan sichuan hebei henan hubei hunan liaoning jilin
   heilongjiang inner_mongolia dongguan zhuhai ningbo suzhou hefei macau/macao
HK kowloon
TW taipei kaohsiung taichung tainan hsinchu kinmen
JP tokyo osaka kyoto yokohama nagoya sapporo fukuoka hiroshima nagasaki okinawa fukushima kobe
   hokkaido
IL jerusalem tel_aviv haifa golan eilat
PS gaza rafah khan_younis/khan_yunis west_bank jenin nablus ramallah hebron
LB beirut sidon; SY damascus aleppo idlib homs latakia deir_ez_zor raqqa
IQ baghdad mosul basra erbil kirkuk fallujah
IR tehran isfahan natanz fordow bushehr tabriz mashhad shiraz bandar_abbas qom
YE sanaa aden hodeidah; SA riyadh jeddah mecca; QA doha; AE dubai abu_dhabi; EG cairo
TR ankara istanbul; JO amman; OM muscat; BH manama
MM mandalay yangon/rangoon naypyidaw sagaing
-- red_sea black_sea south_china_sea taiwan_strait strait_of_hormuz/hormuz persian_gulf
   gulf_of_aden sea_of_japan/east_sea yellow_sea
"""
"""Localities by country ("--": none), each with its spellings."""


def _key(spelling: str) -> tuple[str, ...]:
    return tuple(spelling.split("_"))


def _countries(text: str) -> dict[tuple[str, ...], str]:
    rows = (entry.split() for line in text.splitlines() for entry in line.split(";"))
    return {_key(spelling): f"@{row[0]}" for row in rows if row for spelling in row[1:]}


def _localities(text: str) -> dict[tuple[str, ...], tuple[str, str | None]]:
    found: dict[tuple[str, ...], tuple[str, str | None]] = {}
    country: str | None = None
    for line in text.splitlines():
        for entry in line.split(";"):
            words = entry.split()
            if words and (words[0].isupper() or words[0] == "--"):
                country = None if words[0] == "--" else f"@{words[0]}"
                words = words[1:]
            for locality in words:
                spellings = locality.split("/")
                for spelling in spellings:
                    found[_key(spelling)] = (spellings[0].replace("_", " "), country)
    return found


COUNTRY_BY_WORDS: Mapping[tuple[str, ...], str] = _countries(COUNTRIES)
"""Country term ("@UA") by the words of each of its names."""

LOCALITY_BY_WORDS: Mapping[tuple[str, ...], tuple[str, str | None]] = _localities(LOCALITIES)
"""(Locality term, its country's term or None) by the words of each spelling."""

LEADERS = """
US biden trump harris vance blinken rubio yellen bessent raimondo lutnick austin hegseth
   sullivan witkoff kirby
RU putin lavrov peskov shoigu belousov medvedev ushakov zakharova nebenzia
CN xi/xi_jinping li_qiang wang_yi mao_ning lin_jian
UA zelensky/zelenskyy/zelenskiy/zelenskyi yermak kuleba sybiha umerov budanov syrskyi
KP kim_jong_un kim_yo_jong choe_son_hui
KR yoon/yoon_suk_yeol lee_jae_myung han_duck_soo
JP kishida ishiba takaichi; UK starmer sunak lammy cameron; EU von_der_leyen kallas borrell
IR khamenei pezeshkian raisi araghchi amirabdollahian; PL duda tusk; IL netanyahu
TR erdogan; IN modi; FR macron; DE scholz merz; HU orban; BY lukashenko
"""
"""Leaders and ministers who speak for their country in the desk's news, with
their spellings: a headline's "Blinken" and another's "US" name one actor."""

LEADER_BY_WORDS: Mapping[tuple[str, ...], tuple[str, str | None]] = _localities(LEADERS)
"""(Leader's name as a term, their country's term) by the words of each spelling."""

LONGEST_PLACE = max(len(key) for key in (*COUNTRY_BY_WORDS, *LOCALITY_BY_WORDS, *LEADER_BY_WORDS))
