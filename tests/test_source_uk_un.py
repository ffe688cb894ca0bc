"""The FCDO's UK Sanctions List and the UN Security Council Consolidated List:
their XML read as a stream, and their sources over a loopback server."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from monitor.domain.feed import Validators
from monitor.domain.listing import ListingEntry
from monitor.errors import FeedError
from monitor.pipeline.listings import diff_snapshot, snapshot_digests
from monitor.redact import redact_url
from monitor.sources import uk_sanctions, un_sc
from monitor.sources.base import Document, ListDocument, Source, SourceRequest, Unchanged
from monitor.sources.http import FetchLimits, HttpFetcher
from monitor.sources.list_source import ListFormat, ListParser, ParsedList
from monitor.sources.parser_pool import ParserPool
from monitor.sources.parts import SharedParts
from tests.support.feed_server import FeedServer
from tests.support.setup import ROOT

LISTS = ROOT / "tests" / "fixtures" / "lists"
UK_A = LISTS / "uk-sanctions-a.xml"
UK_B = LISTS / "uk-sanctions-b.xml"
UN_A = LISTS / "un-sc-a.xml"
UN_B = LISTS / "un-sc-b.xml"
UK_NAME = "UK Sanctions List"
UN_NAME = "UN Security Council Consolidated List"
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>503 Service Unavailable</title>"
    b"</head><body><p>Try again later</p></body></html>"
)
FORMATS = [
    pytest.param(uk_sanctions.FORMAT, UK_B, id="uk-sanctions-list"),
    pytest.param(un_sc.FORMAT, UN_B, id="un-sc"),
]


def parse_with(list_format: ListFormat, body: bytes) -> ParsedList:
    return list_format.parse(
        io.BytesIO(body), list_name=list_format.list_name, source="list", link=None
    )


def read_entries(parse: ListParser, path: Path, list_name: str) -> dict[str, ListingEntry]:
    with path.open("rb") as stream:
        document = parse(stream, list_name=list_name, source="list", link=None)
        return {entry.key: entry for entry in document.entries}


def uk_entries(path: Path) -> dict[str, ListingEntry]:
    return read_entries(uk_sanctions.parse_uk_sanctions, path, UK_NAME)


def un_entries(path: Path) -> dict[str, ListingEntry]:
    return read_entries(un_sc.parse_un_sc, path, UN_NAME)


def changes(
    before: dict[str, ListingEntry], after: dict[str, ListingEntry]
) -> list[tuple[str, str]]:
    result = diff_snapshot(snapshot_digests(before), after, previous_entries=before.get)
    assert result.accepted
    return [(event.change, event.entry.key) for event in result.events]


# --- the UK Sanctions List ---------------------------------------------------------


def test_uk_header_gives_the_generation_date_and_no_count() -> None:
    with UK_A.open("rb") as stream:
        document = uk_sanctions.parse_uk_sanctions(
            stream, list_name=UK_NAME, source="uk", link=None
        )
        assert document.published == date(2026, 11, 28)
        assert document.declared_count is None
        assert document.publication is None  # a date alone: the date names the publication
        assert len(list(document.entries)) == 6


def test_uk_entries_carry_names_types_regimes_countries_and_dates() -> None:
    entries = uk_entries(UK_A)
    assert list(entries) == ["RUS9001", "RUS9002", "RUS9003", "DPR9004", "CYB9005", "GHR9006"]

    person = entries["RUS9001"]
    assert (person.list_name, person.source) == (UK_NAME, "list")
    assert person.entity_type == "individual"
    assert person.name == "Ivan Sergeevich PETROVSKY"
    # A spelling variation and the non-Latin name are aliases.
    assert person.aliases == ("Ivan PETROVSKI", "Иван Сергеевич ПЕТРОВСКИЙ")
    assert person.programs == ("Russia",)
    # Address and nationality both name Russia; the country of birth is not read.
    assert person.countries == ("Russia",)
    assert person.listed_on == date(2022, 3, 15)
    assert person.remarks == "Director of NORTHWIND LOGISTICS FZE."

    firm = entries["RUS9002"]
    assert firm.entity_type == "entity"
    assert firm.name == "NORTHWIND LOGISTICS FZE"
    assert firm.aliases == ("NORTHWIND LOGISTICS",)
    assert firm.countries == ("United Arab Emirates",)
    assert firm.remarks == ""

    ship = entries["RUS9003"]
    assert ship.entity_type == "vessel"
    assert ship.countries == ("Cameroon",)  # the flag it is believed to fly

    # The list's own spellings come out as the rules' one spelling per country.
    assert entries["DPR9004"].countries == ("North Korea",)
    assert entries["DPR9004"].programs == ("Democratic People's Republic of Korea",)
    assert entries["GHR9006"].countries == ("Turkey",)


def test_uk_b_adds_china_hong_kong_and_russia_removes_one_and_changes_one() -> None:
    before, after = uk_entries(UK_A), uk_entries(UK_B)
    assert changes(before, after) == [
        ("added", "RUS9007"),
        ("added", "RUS9008"),
        ("added", "RUS9009"),
        ("changed", "GHR9006"),
        ("removed", "CYB9005"),
    ]
    assert after["RUS9007"].countries == ("China",)
    assert after["RUS9007"].aliases == ("BRIGHTSTAR EXAMPLE MICRO", "深圳明星示例微电子有限公司")
    assert after["RUS9008"].countries == ("Hong Kong",)
    # "Russian Federation" in the address, "Russia" as nationality: one country.
    assert after["RUS9009"].countries == ("Russia",)
    assert after["GHR9006"].aliases == ("EXAMPLE HOLDING ANONIM SIRKETI",)
    with UK_B.open("rb") as stream:
        published = uk_sanctions.parse_uk_sanctions(
            stream, list_name=UK_NAME, source="uk", link=None
        ).published
    assert published == date(2026, 12, 1)


def test_uk_reads_by_local_name_and_tolerates_what_it_does_not_know() -> None:
    body = (
        b'<Designations xmlns="urn:example:uk">'
        b"<DateGenerated>2027-01-05T14:30:00</DateGenerated><SchemaVersion>9</SchemaVersion>"
        b"<Designation><UniqueID>AIR0001</UniqueID><DateDesignated>2027-01-05</DateDesignated>"
        b"<Names><Name><Name6>SECOND NAME</Name6><NameType>Alias</NameType></Name>"
        b"<Name><Name6>FIRST NAME</Name6><NameType>Alias</NameType></Name></Names>"
        b"<Regimes><RegimeName>Iran</RegimeName><RegimeName>Russia</RegimeName></Regimes>"
        b"<IndividualEntityShip>Aircraft</IndividualEntityShip><NewField>x</NewField>"
        b"<Addresses><Address><AddressCountry>HK</AddressCountry></Address></Addresses>"
        b"</Designation></Designations>"
    )
    document = parse_with(uk_sanctions.FORMAT, body)
    # A time of day in the stamp makes the stamp the publication's name.
    assert document.published == date(2027, 1, 5)
    assert document.publication == "2027-01-05T14:30:00"
    (entry,) = document.entries
    # No name marked primary: the first name written is the entry's name.
    assert (entry.name, entry.aliases) == ("SECOND NAME", ("FIRST NAME",))
    assert entry.entity_type == "entity"  # a kind the list adds later
    assert entry.programs == ("Iran", "Russia")
    assert entry.countries == ("Hong Kong",)
    assert entry.listed_on == date(2027, 1, 5)


def test_uk_long_remarks_are_shortened() -> None:
    words = "word " * 400
    body = (
        f"<Designations><Designation><UniqueID>X1</UniqueID>"
        f"<OtherInformation>{words}</OtherInformation></Designation></Designations>"
    ).encode()
    (entry,) = parse_with(uk_sanctions.FORMAT, body).entries
    assert len(entry.remarks) == uk_sanctions.REMARKS_MAX_CHARS
    assert entry.remarks.endswith("…")


# --- the UN consolidated list ------------------------------------------------------


def test_un_header_gives_the_generation_stamp() -> None:
    with UN_A.open("rb") as stream:
        document = un_sc.parse_un_sc(stream, list_name=UN_NAME, source="un", link=None)
        assert document.published == date(2026, 11, 28)
        assert document.publication == "2026-11-28T09:15:02.431Z"
        assert document.declared_count is None
        assert len(list(document.entries)) == 6


def test_un_entries_carry_names_types_programmes_countries_and_dates() -> None:
    entries = un_entries(UN_A)
    assert list(entries) == ["KPi.901", "QDi.902", "CDi.903", "KPe.904", "QDe.905", "KPe.906"]

    person = entries["KPi.901"]
    assert person.entity_type == "individual"
    assert person.name == "RI CHOL SU"
    # The same alias twice (two qualities) is one alias; the original script is one too.
    assert person.aliases == ("Ri Chol-su", "리철수")
    assert person.programs == ("DPRK",)
    assert person.countries == ("North Korea",)
    assert person.listed_on == date(2017, 6, 2)
    assert person.remarks == "Representative of an invented trading company."

    assert entries["QDi.902"].countries == ("Syria",)
    assert entries["CDi.903"].name == "JEAN EXEMPLE MUKENDI FICTIF"
    assert entries["CDi.903"].countries == ("Democratic Republic of the Congo", "Rwanda")

    firm = entries["KPe.904"]
    assert firm.entity_type == "entity"
    assert firm.name == "EXAMPLE MARITIME SHIPPING COMPANY"
    assert firm.aliases == ("EXAMPLE MARITIME",)
    assert firm.countries == ("North Korea",)
    assert firm.remarks == "Operates vessels of an invented fleet."
    assert entries["QDe.905"].programs == ("Al-Qaida",)
    assert entries["QDe.905"].remarks == ""


def test_un_b_adds_china_hong_kong_and_russia_removes_one_and_changes_one() -> None:
    before, after = un_entries(UN_A), un_entries(UN_B)
    assert changes(before, after) == [
        ("added", "KPi.909"),
        ("added", "KPe.907"),
        ("added", "KPe.908"),
        ("changed", "QDe.905"),
        ("removed", "QDi.902"),
    ]
    assert after["KPe.907"].countries == ("China",)
    # The UN writes "Hong Kong, China": still Hong Kong, never China.
    assert after["KPe.908"].countries == ("Hong Kong",)
    assert after["KPi.909"].countries == ("Russia",)
    assert after["QDe.905"].aliases == ("EXAMPLE RELIEF ORGANISATION", "EXAMPLE AID SOCIETY")


def test_un_link_names_the_entry() -> None:
    body = (
        b'<CONSOLIDATED_LIST dateGenerated="2027-01-02T00:00:00Z"><ENTITIES><ENTITY>'
        b"<FIRST_NAME>X</FIRST_NAME><REFERENCE_NUMBER>KPe.1</REFERENCE_NUMBER>"
        b"</ENTITY></ENTITIES></CONSOLIDATED_LIST>"
    )
    document = un_sc.parse_un_sc(
        io.BytesIO(body), list_name=UN_NAME, source="un", link="https://un.example/{key}"
    )
    assert [entry.link for entry in document.entries] == ["https://un.example/KPe.1"]


# --- both: streaming, and what is not the list -------------------------------------


def long_list(list_format: ListFormat, count: int) -> bytes:
    if list_format is uk_sanctions.FORMAT:
        entry = (
            b"<Designation><UniqueID>E%d</UniqueID><Names><Name><Name6>FIRM %d</Name6>"
            b"<NameType>Primary Name</NameType></Name></Names>"
            b"<IndividualEntityShip>Entity</IndividualEntityShip></Designation>"
        )
        return (
            b"<Designations>"
            + b"".join(entry % (n, n) for n in range(count))
            + (b"</Designations>")
        )
    entry = (
        b"<ENTITY><FIRST_NAME>FIRM %d</FIRST_NAME><REFERENCE_NUMBER>E%d</REFERENCE_NUMBER></ENTITY>"
    )
    return (
        b'<CONSOLIDATED_LIST dateGenerated="2027-01-02T00:00:00Z"><INDIVIDUALS/><ENTITIES>'
        + b"".join(entry % (n, n) for n in range(count))
        + b"</ENTITIES></CONSOLIDATED_LIST>"
    )


@pytest.mark.parametrize(
    "list_format",
    [
        pytest.param(uk_sanctions.FORMAT, id="uk-sanctions-list"),
        pytest.param(un_sc.FORMAT, id="un-sc"),
    ],
)
def test_a_long_list_streams_entry_by_entry(list_format: ListFormat) -> None:
    body = long_list(list_format, 5000)
    stream = io.BytesIO(body)
    document = list_format.parse(stream, list_name=list_format.list_name, source="l", link=None)
    keys: list[str] = []
    read_at_first_entry = -1
    for entry in document.entries:
        if not keys:
            read_at_first_entry = stream.tell()
        keys.append(entry.key)
    assert keys == [f"E{n}" for n in range(5000)]
    # The first entry came out while most of the document was still unread.
    assert 0 < read_at_first_entry < len(body) // 4


@pytest.mark.parametrize(("list_format", "fixture"), FORMATS)
def test_a_truncated_download_raises_a_parse_error(list_format: ListFormat, fixture: Path) -> None:
    body = fixture.read_bytes()
    document = parse_with(list_format, body[: len(body) // 2])  # the header is whole
    assert document.published == date(2026, 12, 1)
    with pytest.raises(FeedError) as caught:
        list(document.entries)
    assert caught.value.kind == "parse"
    message = str(caught.value)
    assert list_format.list_name in message
    assert "malformed or truncated" in message
    assert "line" in message


@pytest.mark.parametrize(("list_format", "fixture"), FORMATS)
@pytest.mark.parametrize(
    ("body", "found"),
    [
        pytest.param(b"", "the body is empty", id="empty"),
        pytest.param(b"  \r\n", "the body is blank", id="blank"),
        pytest.param(HTML_PAGE, "an HTML page titled '503 Service Unavailable'", id="html"),
        pytest.param(
            b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            b"<head><title>Error</title></head><body/></html>",
            "an HTML page titled 'Error'",
            id="xhtml",
        ),
        pytest.param(b'{"error": "not found"}', "found JSON", id="json"),
        pytest.param(b"Service Unavailable", "not XML", id="text"),
        pytest.param(b"<sdnList><sdnEntry/></sdnList>", "root element is <sdnList>", id="sdn"),
    ],
)
def test_a_document_that_is_not_the_list_raises_a_parse_error_naming_it(
    list_format: ListFormat, fixture: Path, body: bytes, found: str
) -> None:
    with pytest.raises(FeedError) as caught:
        list(parse_with(list_format, body).entries)
    assert caught.value.kind == "parse"
    assert str(caught.value).startswith(f"{list_format.list_name}: ")
    assert found in str(caught.value)


@pytest.mark.parametrize(
    ("list_format", "body", "missing"),
    [
        pytest.param(
            uk_sanctions.FORMAT,
            b"<Designations><Designation><Names/></Designation></Designations>",
            "<UniqueID>",
            id="uk",
        ),
        pytest.param(
            un_sc.FORMAT,
            b"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>X</FIRST_NAME>"
            b"</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>",
            "<REFERENCE_NUMBER>",
            id="un",
        ),
    ],
)
def test_an_entry_without_its_key_raises_a_parse_error(
    list_format: ListFormat, body: bytes, missing: str
) -> None:
    with pytest.raises(FeedError) as caught:
        list(parse_with(list_format, body).entries)
    assert caught.value.kind == "parse"
    assert missing in str(caught.value)


# --- the sources, over real HTTP ---------------------------------------------------


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


@pytest.fixture
def parts() -> Iterator[SharedParts]:
    limits = FetchLimits(timeout=5.0, connect_timeout=5.0)
    pool = ParserPool(0)
    with HttpFetcher(limits) as fetcher:
        yield SharedParts(fetcher=fetcher, parser=pool, limits=limits)
    pool.close()


def read(
    source: Source,
    url: str,
    *,
    last_body_hash: str | None = None,
    validators: Validators = Validators(),
) -> Unchanged | Document | ListDocument:
    return source.read(
        SourceRequest(
            feed="list",
            url=url,
            redact=redact_url,
            validators=validators,
            last_body_hash=last_body_hash,
        )
    )


SOURCES = [
    pytest.param(uk_sanctions.build_source, uk_sanctions.FORMAT, UK_A, id="uk-sanctions-list"),
    pytest.param(un_sc.build_source, un_sc.FORMAT, UN_A, id="un-sc"),
]


@pytest.mark.parametrize(("build", "list_format", "fixture"), SOURCES)
def test_the_source_reads_the_list_and_then_knows_it_unchanged(
    server: FeedServer,
    parts: SharedParts,
    build: Callable[[SharedParts], Source],
    list_format: ListFormat,
    fixture: Path,
) -> None:
    server.set("/list.xml", fixture.read_bytes(), content_type="application/xml")
    source = build(parts)
    try:
        document = read(source, server.url("/list.xml"))
        assert isinstance(document, ListDocument)
        publication = document.publication
        assert (publication.list_name, publication.publisher) == (
            list_format.list_name,
            list_format.publisher,
        )
        assert publication.published == date(2026, 11, 28)
        assert len(publication.entries) == 6
        assert {entry.source for entry in publication.entries.values()} == {"list"}
        assert publication.link == list_format.link
        assert document.body_hash is not None

        again = read(source, server.url("/list.xml"), last_body_hash=document.body_hash)
        assert again == Unchanged("same body")
    finally:
        source.close()


@pytest.mark.parametrize(("build", "list_format", "fixture"), SOURCES)
def test_a_304_answer_is_unchanged(
    server: FeedServer,
    parts: SharedParts,
    build: Callable[[SharedParts], Source],
    list_format: ListFormat,
    fixture: Path,
) -> None:
    server.set("/list.xml", fixture.read_bytes(), content_type="application/xml", etag='"v1"')
    source = build(parts)
    try:
        first = read(source, server.url("/list.xml"))
        assert isinstance(first, ListDocument)
        assert first.validators.etag == '"v1"'
        second = read(source, server.url("/list.xml"), validators=first.validators)
        assert second == Unchanged("HTTP 304")
        assert server.requests[-1].headers.get("if-none-match") == '"v1"'
    finally:
        source.close()


def test_the_un_list_served_as_octet_stream_is_read_by_its_content(
    server: FeedServer, parts: SharedParts
) -> None:
    server.set("/consolidated.xml", UN_B.read_bytes(), content_type="application/octet-stream")
    source = un_sc.build_source(parts)
    try:
        document = read(source, server.url("/consolidated.xml"))
        assert isinstance(document, ListDocument)
        assert document.publication.publication == "2026-12-01T16:40:11.902Z"
        assert document.publication.entries["KPe.908"].countries == ("Hong Kong",)
    finally:
        source.close()


@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/xml"])
def test_an_html_error_page_is_a_parse_error_whatever_its_content_type(
    server: FeedServer, parts: SharedParts, content_type: str
) -> None:
    server.set("/consolidated.xml", HTML_PAGE, content_type=content_type)
    source = un_sc.build_source(parts)
    try:
        with pytest.raises(FeedError) as caught:
            read(source, server.url("/consolidated.xml"))
        assert caught.value.kind == "parse"
        assert str(caught.value) == (
            f"{UN_NAME}: not the list's XML: found an HTML page titled '503 Service Unavailable'"
        )
    finally:
        source.close()


def test_a_un_address_in_china_whose_city_is_hong_kong_counts_as_hong_kong() -> None:
    document = b"""<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-12-01T09:00:00.000-05:00">
  <INDIVIDUALS/>
  <ENTITIES>
    <ENTITY>
      <REFERENCE_NUMBER>KPe.999</REFERENCE_NUMBER>
      <FIRST_NAME>HARBOUR EXAMPLE SHIPPING LIMITED</FIRST_NAME>
      <UN_LIST_TYPE>DPRK</UN_LIST_TYPE>
      <ENTITY_ADDRESS><CITY>Hong Kong</CITY><COUNTRY>China</COUNTRY></ENTITY_ADDRESS>
      <ENTITY_ADDRESS><CITY>Dalian</CITY><COUNTRY>China</COUNTRY></ENTITY_ADDRESS>
    </ENTITY>
  </ENTITIES>
</CONSOLIDATED_LIST>
"""
    parsed = un_sc.parse_un_sc(io.BytesIO(document), list_name="UN", source="un-sc", link=None)
    (entry,) = parsed.entries
    assert entry.countries == ("Hong Kong", "China")
