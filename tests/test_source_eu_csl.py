"""Two official lists as sources: the EU's Financial Sanctions Files (XML,
probed through the checksum in the files' RSS feed first) and the US
Consolidated Screening List (JSON)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from monitor.domain.feed import Validators
from monitor.domain.listing import ListingEntry
from monitor.errors import FeedError
from monitor.pipeline.listings import diff_snapshot, snapshot_digests
from monitor.sources import eu_fsf, trade_csl
from monitor.sources.base import ListDocument, SourceRequest, Unchanged
from monitor.sources.eu_fsf import (
    RETRY_PAUSES,
    EuFsfSource,
    checksum_from_rss,
    parse_fsf,
)
from monitor.sources.http import FetchLimits, HttpFetcher
from monitor.sources.list_source import ListParser, list_fetcher, read_list_body
from monitor.sources.parser_pool import ParserPool
from monitor.sources.parts import SharedParts
from monitor.sources.trade_csl import parse_csl
from tests.support.feed_server import FeedServer
from tests.support.setup import ROOT

PARSERS: tuple[ListParser, ...] = (parse_fsf, parse_csl)  # both fit the protocol (mypy)
LISTS = ROOT / "tests" / "fixtures" / "lists"
EU_A = LISTS / "eu-fsf-a.xml"
EU_B = LISTS / "eu-fsf-b.xml"
EU_RSS = LISTS / "eu-fsf-rss.xml"
CSL_A = LISTS / "trade-csl-a.json"
CSL_B = LISTS / "trade-csl-b.json"

EU_NAME = "EU Financial Sanctions Files"
CSL_NAME = "Consolidated Screening List"
EU_LINK = "https://webgate.ec.europa.eu/fsd/fsf#{key}"
EU_LIST_PATH = "/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content"
EU_LIST_URL = (
    "https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content"
    "?token=example-token"
)
EU_RSS_PATH = "/fsd/fsf/public/rss"
EU_CHECKSUM = "7d1e2f9a0b3c4d5e6f708192a3b4c5d6"
EL = "Entity List (EL) - Bureau of Industry and Security"
SDN = "Specially Designated Nationals (SDN) - Treasury Department"


def entries_of(
    parse: ListParser, body: bytes, list_name: str, link: str | None
) -> dict[str, ListingEntry]:
    document = parse(io.BytesIO(body), list_name=list_name, source="feed", link=link)
    return {entry.key: entry for entry in document.entries}


def eu_entries(path: Path) -> dict[str, ListingEntry]:
    return entries_of(parse_fsf, path.read_bytes(), EU_NAME, EU_LINK)


def csl_entries(path: Path) -> dict[str, ListingEntry]:
    return entries_of(parse_csl, path.read_bytes(), CSL_NAME, None)


def csl_document(*results: object, **top: object) -> bytes:
    return json.dumps({**top, "results": list(results)}).encode()


def events_between(
    before: dict[str, ListingEntry], after: dict[str, ListingEntry]
) -> list[tuple[str, str]]:
    result = diff_snapshot(snapshot_digests(before), after, previous_entries=before.get)
    assert result.accepted
    return [(event.change, event.entry.key) for event in result.events]


# --- EU: parsing ----------------------------------------------------------------


def test_eu_header_gives_the_generation_date_as_publication() -> None:
    with EU_A.open("rb") as stream:
        document = parse_fsf(stream, list_name=EU_NAME, source="eu-fsf", link=None)
        assert document.published == date(2026, 11, 28)
        assert document.publication == "2026-11-28T18:05:12.345+01:00"
        assert document.declared_count is None
        assert len(list(document.entries)) == 6


def test_eu_entries_carry_names_types_programmes_countries_and_dates() -> None:
    entries = eu_entries(EU_A)
    assert list(entries) == ["101", "102", "103", "104", "105", "106"]
    firm = entries["101"]
    assert (firm.list_name, firm.source) == (EU_NAME, "feed")
    assert firm.name == "Northgate Maritime Services LLC"
    assert firm.aliases == ("Northgate Maritime",)
    assert firm.entity_type == "entity"
    assert firm.programs == ("RUS",)
    assert firm.countries == ("United Arab Emirates",)
    assert firm.listed_on == date(2024, 2, 23)
    assert firm.link == "https://webgate.ec.europa.eu/fsd/fsf#101"

    person = entries["102"]
    assert person.entity_type == "individual"
    assert person.name == "Ivan Petrovich EXAMPLOV"
    # The German repeat of the name is no alias; a name split in parts is joined.
    assert person.aliases == ("Ivan EKZAMPLOV",)
    assert person.countries == ("Russia",)  # citizenship and birthplace, once
    assert person.remarks == "Director of Northgate Maritime Services LLC."

    assert entries["103"].countries == ("North Korea",)  # "00 UNKNOWN" is no country
    assert entries["103"].programs == ("PRK",)
    # No designation date: the earliest regulation's publication stands in.
    assert entries["104"].listed_on == date(2012, 3, 24)
    assert entries["104"].programs == ("IRN",)
    assert entries["104"].countries == ("Iran",)
    # A code the country table does not know is read from the description.
    assert entries["106"].countries == ("Panama",)


def test_eu_successive_publications_diff_with_hong_kong_distinct_from_china() -> None:
    before, after = eu_entries(EU_A), eu_entries(EU_B)
    assert events_between(before, after) == [
        ("added", "201"),
        ("added", "202"),
        ("added", "203"),
        ("changed", "106"),
        ("removed", "105"),
    ]
    assert after["201"].countries == ("China",)
    assert after["201"].aliases == ("Shenzhen Brightriver",)
    assert after["202"].countries == ("Hong Kong",)
    assert after["202"].name == "Example Trading Co., Limited"
    assert after["203"].countries == ("Kyrgyzstan",)
    assert after["203"].entity_type == "individual"
    assert after["203"].name == "Aibek EXAMPLEBEKOV"
    assert after["106"].aliases == ("Bluewater Tankers",)


def test_eu_tolerates_unknown_elements_and_subject_types_and_no_namespace() -> None:
    body = (
        b'<export generationDate="2027-01-02T08:00:00Z"><newHeader a="1"/>'
        b'<sanctionEntity logicalId="9"><subjectType code="spaceship"/><futureThing/>'
        b'<nameAlias wholeName="X Corp" strong="false"/><nameAlias wholeName="X Corporation"/>'
        b"</sanctionEntity></export>"
    )
    document = parse_fsf(io.BytesIO(body), list_name=EU_NAME, source="eu-fsf", link=None)
    assert document.published == date(2027, 1, 2)
    (entry,) = document.entries
    assert entry.entity_type == "entity"
    assert (entry.name, entry.aliases) == ("X Corporation", ("X Corp",))
    assert entry.listed_on is None
    assert entry.link is None


def test_eu_a_long_list_streams_entry_by_entry() -> None:
    body = b"".join(
        [b'<export xmlns="urn:x" generationDate="2027-01-02">']
        + [
            b'<sanctionEntity logicalId="%d"><nameAlias wholeName="FIRM %d"/>'
            b'<address countryIso2Code="HK" countryDescription="HONG KONG"/></sanctionEntity>'
            % (n, n)
            for n in range(5000)
        ]
        + [b"</export>"]
    )
    stream = io.BytesIO(body)
    document = parse_fsf(stream, list_name=EU_NAME, source="eu-fsf", link=None)
    read_at_first_entry = -1
    count = 0
    for entry in document.entries:
        if not count:
            read_at_first_entry = stream.tell()
        count += 1
        assert entry.countries == ("Hong Kong",)
    assert count == 5000
    assert 0 < read_at_first_entry < len(body) // 4


@pytest.mark.parametrize(
    ("body", "found"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"<html><body>Service unavailable</body></html>", "<html>", id="html"),
        pytest.param(b'{"results": []}', "not XML", id="json"),
        pytest.param(b"<export><sanctionEntity logicalId='1'></export>", "malformed", id="bad-xml"),
        pytest.param(b"<export><sanctionEntity/></export>", "no logicalId", id="no-key"),
    ],
)
def test_eu_documents_that_are_not_the_list_raise_parse_errors(body: bytes, found: str) -> None:
    with pytest.raises(FeedError) as caught:
        list(parse_fsf(io.BytesIO(body), list_name=EU_NAME, source="eu-fsf", link=None).entries)
    assert caught.value.kind == "parse"
    assert EU_NAME in str(caught.value)
    assert found in str(caught.value)


def test_eu_a_truncated_download_raises_where_it_ends() -> None:
    body = EU_B.read_bytes()
    document = parse_fsf(
        io.BytesIO(body[: len(body) * 2 // 3]), list_name=EU_NAME, source="x", link=None
    )
    assert document.published == date(2026, 12, 1)  # the header is whole
    with pytest.raises(FeedError) as caught:
        list(document.entries)
    assert caught.value.kind == "parse"
    assert "malformed or truncated FSF XML at line" in str(caught.value)


# --- EU: the checksum feed ----------------------------------------------------------


def test_checksum_is_read_from_the_item_linking_to_the_list() -> None:
    rss = EU_RSS.read_bytes()
    assert checksum_from_rss(rss, EU_LIST_URL) == EU_CHECKSUM
    # Same path on another host (a mirror, the test server): the same item.
    assert checksum_from_rss(rss, "http://127.0.0.1:8080" + EU_LIST_PATH) == EU_CHECKSUM
    # A checksum element (any namespace) serves as well as the description.
    csv = "https://webgate.ec.europa.eu/fsd/fsf/public/files/csvFullSanctionsList_1_1/content"
    assert checksum_from_rss(rss, csv) == "0c4f3a5e9d2b7f18a6e3c1d0b9a87f65"
    assert (
        checksum_from_rss(
            rss.replace(EU_CHECKSUM.encode(), EU_CHECKSUM.upper().encode()), EU_LIST_URL
        )
        == EU_CHECKSUM
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(b"<html><body>maintenance</body></html>", "not RSS", id="html"),
        pytest.param(b"<rss><channel><item>", "not XML", id="truncated"),
        pytest.param(
            b"<rss><channel><item><link>https://x.example/other</link>"
            b"<description>Checksum: 7d1e2f9a0b3c4d5e6f708192a3b4c5d6</description></item></channel></rss>",
            "links to the list",
            id="no-item",
        ),
        pytest.param(
            b"<rss><channel><item><link>https://x.example" + EU_LIST_PATH.encode() + b"</link>"
            b"<description>new file</description></item></channel></rss>",
            "no checksum",
            id="no-checksum",
        ),
    ],
)
def test_a_feed_without_the_list_checksum_is_a_parse_error(body: bytes, says: str) -> None:
    with pytest.raises(FeedError) as caught:
        checksum_from_rss(body, EU_LIST_URL)
    assert caught.value.kind == "parse"
    assert says in str(caught.value)


# --- EU: the source over HTTP -------------------------------------------------------


class Pauses:
    """The pause function the source is given: records each wait, sleeps never,
    and can change the server's answer at the n-th pause."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.at: dict[int, Callable[[], None]] = {}

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        action = self.at.get(len(self.waits))
        if action is not None:
            action()


@pytest.fixture
def pauses() -> Pauses:
    return Pauses()


@pytest.fixture
def eu_source(pauses: Pauses) -> Iterator[EuFsfSource]:
    source = EuFsfSource(list_fetcher(None), pause=pauses)
    yield source
    source.close()


def eu_request(
    server: FeedServer,
    *,
    probe: bool = True,
    last_body_hash: str | None = None,
    validators: Validators = Validators(),
) -> SourceRequest:
    return SourceRequest(
        feed="eu-fsf",
        url=server.url(EU_LIST_PATH) + "?token=example-token",
        redact=lambda url: url,
        probe_url=server.url(EU_RSS_PATH) if probe else None,
        last_body_hash=last_body_hash,
        validators=validators,
    )


def serve_eu(server: FeedServer, *, checksum: str = EU_CHECKSUM, listing: Path = EU_A) -> None:
    server.set(EU_RSS_PATH, EU_RSS.read_bytes().replace(EU_CHECKSUM.encode(), checksum.encode()))
    server.set(EU_LIST_PATH, listing.read_bytes(), content_type="application/xml")


def test_eu_source_reads_the_list_and_the_same_bytes_again_are_unchanged(
    feed_server: FeedServer, eu_source: EuFsfSource
) -> None:
    serve_eu(feed_server)
    first = eu_source.read(eu_request(feed_server, probe=False))
    assert isinstance(first, ListDocument)
    assert first.publication.list_name == EU_NAME
    assert first.publication.publisher == "EU"
    assert first.publication.publication == "2026-11-28T18:05:12.345+01:00"
    assert len(first.publication.entries) == 6
    assert first.body_hash == hashlib.sha256(EU_A.read_bytes()).hexdigest()
    assert first.warning is None
    again = eu_source.read(eu_request(feed_server, probe=False, last_body_hash=first.body_hash))
    assert again == Unchanged("same body")


def test_eu_an_unchanged_checksum_costs_no_download(
    feed_server: FeedServer, eu_source: EuFsfSource
) -> None:
    serve_eu(feed_server)
    first = eu_source.read(eu_request(feed_server))
    assert isinstance(first, ListDocument)
    assert first.body_hash == (
        f"checksum:{EU_CHECKSUM};sha256={hashlib.sha256(EU_A.read_bytes()).hexdigest()}"
    )
    assert first.warning is None
    assert feed_server.hits(EU_LIST_PATH) == 1

    again = eu_source.read(eu_request(feed_server, last_body_hash=first.body_hash))
    assert again == Unchanged("same publication")
    assert feed_server.hits(EU_RSS_PATH) == 2
    assert feed_server.hits(EU_LIST_PATH) == 1  # the list itself was not asked for again


def test_eu_a_new_checksum_downloads_the_new_list(
    feed_server: FeedServer, eu_source: EuFsfSource
) -> None:
    new_checksum = "00112233445566778899aabbccddeeff"
    serve_eu(feed_server, checksum=new_checksum, listing=EU_B)
    result = eu_source.read(eu_request(feed_server, last_body_hash=f"checksum:{EU_CHECKSUM}"))
    assert isinstance(result, ListDocument)
    assert result.body_hash is not None
    assert result.body_hash.startswith(f"checksum:{new_checksum};sha256=")
    assert set(result.publication.entries) >= {"201", "202", "203"}
    assert feed_server.hits(EU_LIST_PATH) == 1


def test_eu_a_sha256_checksum_is_kept_only_for_the_file_it_describes(
    feed_server: FeedServer, eu_source: EuFsfSource
) -> None:
    # The feed announces a new file (its SHA-256) while the old one is still
    # served: the old bytes are read, but the new checksum is not kept, so
    # the new file is read when it comes instead of being taken as read.
    new_file_digest = hashlib.sha256(EU_B.read_bytes()).hexdigest()
    serve_eu(feed_server, checksum=new_file_digest, listing=EU_A)
    early = eu_source.read(eu_request(feed_server, last_body_hash=f"checksum:{EU_CHECKSUM}"))
    assert isinstance(early, ListDocument)
    assert early.body_hash == f";sha256={hashlib.sha256(EU_A.read_bytes()).hexdigest()}"

    serve_eu(feed_server, checksum=new_file_digest, listing=EU_B)
    late = eu_source.read(eu_request(feed_server, last_body_hash=early.body_hash))
    assert isinstance(late, ListDocument)
    assert late.body_hash == f"checksum:{new_file_digest};sha256={new_file_digest}"
    assert set(late.publication.entries) >= {"201", "202", "203"}
    again = eu_source.read(eu_request(feed_server, last_body_hash=late.body_hash))
    assert again == Unchanged("same publication")


def test_eu_server_errors_are_asked_again_after_a_pause(
    feed_server: FeedServer, eu_source: EuFsfSource, pauses: Pauses
) -> None:
    serve_eu(feed_server)
    feed_server.set(EU_LIST_PATH, b"<html>busy</html>", status=500, content_type="text/html")
    pauses.at[2] = lambda: serve_eu(feed_server)  # the third answer is the list
    result = eu_source.read(eu_request(feed_server, probe=False))
    assert isinstance(result, ListDocument)
    assert feed_server.hits(EU_LIST_PATH) == 3
    assert pauses.waits == list(RETRY_PAUSES[:2])


def test_eu_a_server_error_that_persists_fails_the_read(
    feed_server: FeedServer, eu_source: EuFsfSource, pauses: Pauses
) -> None:
    feed_server.set(EU_LIST_PATH, b"<html>down</html>", status=502, content_type="text/html")
    with pytest.raises(FeedError) as caught:
        eu_source.read(eu_request(feed_server, probe=False))
    assert caught.value.kind == "http"
    assert "502" in str(caught.value)
    assert feed_server.hits(EU_LIST_PATH) == len(RETRY_PAUSES) + 1
    assert pauses.waits == list(RETRY_PAUSES)


def test_eu_a_client_error_is_not_asked_again(
    feed_server: FeedServer, eu_source: EuFsfSource, pauses: Pauses
) -> None:
    with pytest.raises(FeedError) as caught:
        eu_source.read(eu_request(feed_server, probe=False))  # nothing served: 404
    assert caught.value.kind == "http"
    assert feed_server.hits(EU_LIST_PATH) == 1
    assert pauses.waits == []


def test_eu_the_probe_is_asked_again_after_a_server_error(
    feed_server: FeedServer, eu_source: EuFsfSource, pauses: Pauses
) -> None:
    serve_eu(feed_server)
    feed_server.set(EU_RSS_PATH, b"busy", status=503, content_type="text/plain")
    pauses.at[1] = lambda: serve_eu(feed_server)
    result = eu_source.read(eu_request(feed_server, last_body_hash=f"checksum:{EU_CHECKSUM}"))
    assert result == Unchanged("same publication")
    assert feed_server.hits(EU_RSS_PATH) == 2
    assert feed_server.hits(EU_LIST_PATH) == 0


@pytest.mark.parametrize(
    ("rss", "status", "says"),
    [
        pytest.param(b"gone", 404, "HTTP 404", id="http-error"),
        pytest.param(b"<html><body>maintenance</body></html>", 200, "not RSS", id="not-rss"),
        pytest.param(b"<rss><channel></channel></rss>", 200, "items", id="no-checksum"),
    ],
)
def test_eu_a_broken_probe_falls_back_to_the_download_with_a_warning(
    feed_server: FeedServer, eu_source: EuFsfSource, rss: bytes, status: int, says: str
) -> None:
    serve_eu(feed_server)
    feed_server.set(EU_RSS_PATH, rss, status=status, content_type="text/html")
    result = eu_source.read(eu_request(feed_server, last_body_hash=f"checksum:{EU_CHECKSUM}"))
    assert isinstance(result, ListDocument)
    assert len(result.publication.entries) == 6
    assert result.body_hash == hashlib.sha256(EU_A.read_bytes()).hexdigest()
    assert result.warning is not None
    assert "checksum feed" in result.warning
    assert says in result.warning
    assert feed_server.hits(EU_LIST_PATH) == 1


def test_eu_a_broken_probe_then_not_modified_logs_the_warning(
    feed_server: FeedServer, eu_source: EuFsfSource, caplog: pytest.LogCaptureFixture
) -> None:
    feed_server.set(EU_LIST_PATH, EU_A.read_bytes(), content_type="application/xml", etag='"v1"')
    first = eu_source.read(eu_request(feed_server))  # no feed served: 404
    assert isinstance(first, ListDocument)
    with caplog.at_level(logging.WARNING, logger="monitor.lists"):
        again = eu_source.read(eu_request(feed_server, validators=first.validators))
    assert again == Unchanged("HTTP 304")
    assert any("checksum feed" in record.getMessage() for record in caplog.records)


def test_eu_source_builds_from_the_shared_parts(feed_server: FeedServer) -> None:
    serve_eu(feed_server)
    with HttpFetcher(FetchLimits()) as fetcher:
        source = eu_fsf.build_source(
            SharedParts(fetcher=fetcher, parser=ParserPool(0), limits=FetchLimits())
        )
        try:
            result = source.read(eu_request(feed_server))
        finally:
            source.close()
    assert isinstance(result, ListDocument)
    assert eu_fsf.FORMAT.list_name == EU_NAME


# --- CSL: parsing ----------------------------------------------------------------


def test_csl_entries_carry_their_own_list_names_types_and_countries() -> None:
    entries = csl_entries(CSL_A)
    assert len(entries) == 6
    firm = entries["a1f0c3e5"]
    assert firm.list_name == EL
    assert firm.source == "feed"
    assert firm.name == "Harbor Light Optics LLC"
    assert firm.aliases == ("Harbour Light Optics",)
    assert firm.entity_type == "entity"  # the Entity List gives no type
    assert firm.programs == ()
    assert firm.countries == ("United Arab Emirates",)
    assert firm.listed_on == date(2023, 2, 24)
    assert firm.remarks == "Federal Register: 88 FR 12150."
    assert firm.link is not None and firm.link.startswith("https://www.bis.doc.gov/")

    person = entries["b2e1d4f6"]
    assert person.list_name == SDN
    assert person.entity_type == "individual"
    assert person.aliases == ("EKZAMPLOVA, Marina",)  # the name itself is no alias
    assert person.programs == ("RUSSIA-EO14024",)
    assert person.countries == ("Russia",)
    assert person.remarks == "Linked To: HARBOR LIGHT OPTICS LLC."

    vessel = entries["c3d2e5a7"]
    assert vessel.entity_type == "vessel"
    assert vessel.programs == ("IRAN", "SDGT")
    assert vessel.countries == ("Panama",)  # its flag
    assert entries["d4c3f6b8"].entity_type == "aircraft"
    assert entries["d4c3f6b8"].countries == ()


def test_csl_successive_publications_diff_with_hong_kong_distinct_from_china() -> None:
    before, after = csl_entries(CSL_A), csl_entries(CSL_B)
    assert events_between(before, after) == [
        ("added", "a7f6c9e1"),
        ("added", "b8e7d0f2"),
        ("added", "c9d8e1a3"),
        ("changed", "f6a5b8d0"),
        ("removed", "e5b4a7c9"),
    ]
    assert after["a7f6c9e1"].countries == ("China",)
    assert after["a7f6c9e1"].list_name == EL
    assert (
        after["a7f6c9e1"].remarks
        == "Additional addresses may apply. Federal Register: 91 FR 80001."
    )
    assert after["b8e7d0f2"].countries == ("Hong Kong",)
    assert after["c9d8e1a3"].countries == ("Kyrgyzstan",)
    assert after["f6a5b8d0"].aliases == ("EAP Kazan",)


def test_csl_reads_odd_but_valid_results() -> None:
    body = (
        csl_document(
            {
                "id": 17,
                "name": " Plain  Name ",
                "type": "Space Station",
                "alt_names": "One Alias",
                "addresses": [{"country": "PA"}, {"country": None}, "junk"],
                "start_date": "soon",
                "federal_register_notice": "90 FR 1",
                "remarks": "See 90 FR 1.",
            },
            total=1,
        )
        + b"\n"
    )
    (entry,) = csl_entries_of(body, link="https://example.test/csl/{key}").values()
    assert entry.key == "17"
    assert entry.name == "Plain Name"
    assert entry.list_name == CSL_NAME  # no source list named: the feed's list
    assert entry.entity_type == "entity"
    assert entry.aliases == ("One Alias",)
    assert entry.countries == ("Panama",)  # ISO codes are spelt out
    assert entry.listed_on is None
    assert entry.remarks == "See 90 FR 1."  # the notice is cited already
    assert entry.link == "https://example.test/csl/17"


def csl_entries_of(body: bytes, link: str | None = None) -> dict[str, ListingEntry]:
    return entries_of(parse_csl, body, CSL_NAME, link)


def test_csl_keys_after_the_results_are_read_too() -> None:
    body = b'{"results": [{"id": "1", "name": "A"}], "meta": {"x": [1, 2]}, "total": 1}'
    assert list(csl_entries_of(body)) == ["1"]
    assert csl_entries_of(b'{"results" : [ ] }') == {}


def test_csl_entries_are_built_as_they_are_asked_for() -> None:
    body = b'{"results": [{"id": "1", "name": "A"}, {"name": "no id"}]}'
    document = parse_csl(io.BytesIO(body), list_name=CSL_NAME, source="csl", link=None)
    entries = document.entries
    assert next(entries).key == "1"
    with pytest.raises(FeedError, match="result 2 has no id"):
        next(entries)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"  <html><body>Service unavailable</body></html>", "<html>", id="html"),
        pytest.param(b"<?xml version='1.0'?><export/>", "not a JSON object", id="xml"),
        pytest.param(b"[1, 2]", "not a JSON object", id="array"),
        pytest.param(
            b'{"total": 0, "sources": []}', "no 'results' array (keys: 'total'", id="no-results"
        ),
        pytest.param(b'{"results": {"id": 1}}', "not an array", id="results-object"),
        pytest.param(b"{}", "no 'results' array", id="empty-object"),
        pytest.param(b'{"results": [1]}', "result 1 is a int", id="not-an-object"),
        pytest.param(b'{"results": [{"id": "1"}', "malformed or truncated", id="truncated"),
        pytest.param(b'{"results": []} trailing', "after the document's end", id="trailing"),
        pytest.param(b'{"results": [{"id": "1"} {"id": "2"}]}', "expected ','", id="no-comma"),
        pytest.param(b'{"results": [], 3: 4}', "not a string", id="bad-key"),
        pytest.param(b'{"results": [{"id": "\xff"}]}', "not UTF-8", id="not-utf8"),
    ],
)
def test_csl_documents_that_are_not_the_list_raise_parse_errors(body: bytes, found: str) -> None:
    with pytest.raises(FeedError) as caught:
        list(parse_csl(io.BytesIO(body), list_name=CSL_NAME, source="csl", link=None).entries)
    assert caught.value.kind == "parse"
    assert CSL_NAME in str(caught.value)
    assert found in str(caught.value)


def test_csl_a_truncated_download_raises_where_it_ends() -> None:
    body = CSL_B.read_bytes()
    document = parse_csl(
        io.BytesIO(body[: len(body) * 2 // 3]), list_name=CSL_NAME, source="csl", link=None
    )
    with pytest.raises(FeedError) as caught:
        list(document.entries)
    assert caught.value.kind == "parse"
    assert "malformed or truncated screening-list JSON at line" in str(caught.value)


# --- CSL: the source over HTTP -------------------------------------------------------


def test_csl_source_reads_the_list_and_the_same_bytes_again_are_unchanged(
    feed_server: FeedServer,
) -> None:
    feed_server.set("/consolidated.json", CSL_A.read_bytes(), content_type="application/json")
    request = SourceRequest(
        feed="trade-csl", url=feed_server.url("/consolidated.json"), redact=lambda url: url
    )
    with HttpFetcher(FetchLimits()) as fetcher:
        source = trade_csl.build_source(SharedParts(fetcher=fetcher, parser=ParserPool(0)))
        try:
            first = source.read(request)
            assert isinstance(first, ListDocument)
            assert first.publication.list_name == CSL_NAME
            assert first.publication.publisher == "US Consolidated Screening List"
            assert first.publication.entries["a1f0c3e5"].list_name == EL
            assert len(first.publication.entries) == 6
            again = source.read(
                SourceRequest(
                    feed="trade-csl",
                    url=request.url,
                    redact=request.redact,
                    last_body_hash=first.body_hash,
                )
            )
            assert again == Unchanged("same body")

            feed_server.set(
                "/consolidated.json", b"<html>maintenance</html>", content_type="text/html"
            )
            with pytest.raises(FeedError) as caught:
                source.read(request)
            assert caught.value.kind == "parse"
            assert CSL_NAME in str(caught.value)
        finally:
            source.close()


def test_both_formats_check_what_they_read_whole() -> None:
    for list_format, path in ((eu_fsf.FORMAT, EU_B), (trade_csl.FORMAT, CSL_B)):
        publication = read_list_body(
            path.read_bytes(), list_format, source="feed", body_hash="0" * 64
        )
        assert len(publication.entries) == 8
        assert publication.list_name == list_format.list_name
    doubled = csl_document({"id": "1", "name": "A"}, {"id": "1", "name": "B"})
    with pytest.raises(FeedError, match="appear twice"):
        read_list_body(doubled, trade_csl.FORMAT, source="feed", body_hash="0" * 64)
