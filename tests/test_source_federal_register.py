"""The Federal Register source: the API's two response shapes read into
Items (pure), and the source over a real loopback server: conditional
reads, the same body, pages that are no API response, and the agency
filter public inspection needs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.domain.feed import Validators
from monitor.errors import FeedError
from monitor.redact import redact_url
from monitor.sources.base import Document, SourceRequest, Unchanged
from monitor.sources.federal_register import (
    Conditions,
    FederalRegisterSource,
    build_source,
    decode_payload,
    items_of,
)
from monitor.sources.http import FetchLimits, HttpFetcher
from monitor.sources.parser_pool import ParserPool
from monitor.sources.registry import SharedParts
from tests.support.feed_server import FeedServer
from tests.support.setup import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "federal_register"
JSON = "application/json; charset=utf-8"
SEARCH_PATH = (
    "/api/v1/documents.json?conditions[agencies][]=industry-and-security-bureau"
    "&conditions[agencies][]=foreign-assets-control-office"
    "&conditions[type][]=RULE&conditions[type][]=NOTICE&order=newest&per_page=100"
)
INSPECTION = "/api/v1/public-inspection-documents/current.json"
SANCTIONS_AGENCIES = (
    "?conditions[agencies][]=industry-and-security-bureau"
    "&conditions[agencies][]=foreign-assets-control-office"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def payload(name: str) -> Any:
    return json.loads(fixture(name))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def source() -> Iterator[FederalRegisterSource]:
    with HttpFetcher(FetchLimits(timeout=5.0, connect_timeout=5.0)) as fetcher:
        reader = FederalRegisterSource(fetcher)
        yield reader
        reader.close()


def request(url: str, **fields: Any) -> SourceRequest:
    return SourceRequest(
        feed="federal-register", url=url, redact=redact_url, tags=("sanctions",), **fields
    )


# --- the mapping, pure ------------------------------------------------------


def test_published_documents_become_items_in_the_order_given() -> None:
    read = items_of(payload("documents.json"), feed="fr", tags=("sanctions", "us"))
    assert (read.filtered_out, read.unreadable, read.warning) == (0, 0, None)
    entity_list, ofac, forms = read.items
    assert entity_list.feed == "fr" and entity_list.feed_tags == ("sanctions", "us")
    assert entity_list.identity == "federal-register:2025-11873"
    assert entity_list.guid == "2025-11873"
    assert entity_list.title == "Additions to the Entity List"
    assert entity_list.summary.startswith("The Bureau of Industry and Security amends")
    assert entity_list.summary.endswith(
        "Agencies: Commerce Department; Industry and Security Bureau. Type: Rule."
    )
    assert entity_list.link == (
        "https://www.federalregister.gov/documents/2025/06/12/2025-11873/"
        "additions-to-the-entity-list"
    )
    assert entity_list.published == utc(2025, 6, 12)
    assert entity_list.updated is None
    assert ofac.title == "Notice of OFAC Sanctions Actions"
    assert "Foreign Assets Control Office. Type: Notice." in ofac.summary
    # No abstract: the agency and type alone, in words rules can match.
    assert forms.summary == "Agency: Industry and Security Bureau. Type: Notice."


def test_a_filing_at_public_inspection_shares_the_published_documents_identity() -> None:
    inspection = items_of(payload("public-inspection.json"), feed="fr")
    published = items_of(payload("documents.json"), feed="fr")
    entity_list = inspection.items[0]
    assert entity_list.identity == published.items[0].identity == "federal-register:2025-11873"
    assert entity_list.title == "Public inspection: Additions to the Entity List"
    assert entity_list.summary == (
        "Filed 2025-06-10 08:45 UTC-04:00; to be published 2025-06-12. "
        "Agencies: Commerce Department; Industry and Security Bureau. Type: Rule."
    )
    assert entity_list.published == utc(2025, 6, 10, 12, 45)
    assert entity_list.link == (
        "https://www.federalregister.gov/public-inspection/2025-11873/additions-to-the-entity-list"
    )


def test_a_filing_without_a_title_is_named_by_agency_type_and_subject() -> None:
    ofac = items_of(payload("public-inspection.json"), feed="fr").items[1]
    assert ofac.title == (
        "Public inspection: Treasury Department, Foreign Assets Control Office notice: "
        "Sanctions Actions"
    )
    assert ofac.summary.startswith(
        "Special filing. Filed 2025-06-10 15:30 UTC-04:00; to be published 2025-06-11."
    )


def test_the_agency_condition_keeps_only_those_agencies_filings() -> None:
    everything = items_of(payload("public-inspection.json"), feed="fr")
    assert len(everything.items) == 3
    conditions = Conditions.of_url(
        "https://www.federalregister.gov" + INSPECTION + SANCTIONS_AGENCIES
    )
    assert conditions.agencies == {"industry-and-security-bureau", "foreign-assets-control-office"}
    kept = items_of(payload("public-inspection.json"), feed="fr", conditions=conditions)
    assert [item.guid for item in kept.items] == ["2025-11873", "2025-11940"]
    assert kept.filtered_out == 1


def test_a_type_condition_filters_filings_and_passes_unknown_types() -> None:
    conditions = Conditions.of_url("https://x.example/c.json?conditions%5Btype%5D%5B%5D=notice")
    assert conditions.types == {"Notice"}
    kept = items_of(payload("public-inspection.json"), feed="fr", conditions=conditions)
    assert [item.guid for item in kept.items] == ["2025-11940"]
    odd = {"results": [{"document_number": "1", "filed_at": None, "type": "Correction"}]}
    assert len(items_of(odd, feed="fr", conditions=conditions).items) == 1


def test_conditions_leave_a_documents_search_as_the_api_filtered_it() -> None:
    conditions = Conditions(agencies=frozenset({"nobody-at-all"}))
    assert len(items_of(payload("documents.json"), feed="fr", conditions=conditions).items) == 3


def test_an_agency_outside_the_directory_gets_a_slug_from_its_name() -> None:
    result = {
        "document_number": "2025-00001",
        "title": "",
        "type": "NOTICE",
        "filed_at": "2025-01-02T09:00:00-05:00",
        "agencies": [{"raw_name": "Foreign Assets Control Office"}, "junk", {"id": 3}],
    }
    conditions = Conditions(agencies=frozenset({"foreign-assets-control-office"}))
    (item,) = items_of({"results": [result]}, feed="fr", conditions=conditions).items
    assert item.title == "Public inspection: Foreign Assets Control Office notice: 2025-00001"
    assert item.summary.endswith("Agency: Foreign Assets Control Office. Type: Notice.")


def test_results_without_a_document_number_are_skipped_with_a_warning() -> None:
    results = [{"title": "No number"}, 7, {"document_number": "2025-2", "title": "Kept"}]
    read = items_of({"results": results}, feed="fr")
    assert [item.title for item in read.items] == ["Kept"]
    assert read.unreadable == 2 and read.warning is not None
    with pytest.raises(FeedError) as caught:
        items_of({"results": [{"title": "No number"}]}, feed="fr")
    assert caught.value.kind == "parse"


def test_dates_the_api_does_not_give_plainly_are_left_unknown() -> None:
    results = [
        {"document_number": "a", "title": "t", "publication_date": "soon"},
        {"document_number": "b", "title": "t", "filed_at": "2025-06-10T08:45:00"},
    ]
    assert [item.published for item in items_of({"results": results}, feed="fr").items] == [
        None,
        None,
    ]


def test_no_matches_is_an_empty_document() -> None:
    assert items_of({"count": 0, "description": "nothing"}, feed="fr").items == []
    assert items_of({"count": 0, "results": []}, feed="fr").items == []


@pytest.mark.parametrize(
    ("shape", "kind"),
    [
        ([1, 2], "not-a-feed"),
        ({"errors": {"conditions": "unknown agency"}}, "not-a-feed"),
        ({"status": "ok"}, "not-a-feed"),
        ({"results": "none"}, "parse"),
    ],
)
def test_json_that_is_not_the_apis_is_a_feed_error(shape: object, kind: str) -> None:
    with pytest.raises(FeedError) as caught:
        items_of(shape, feed="fr")
    assert caught.value.kind == kind
    assert "Federal Register API" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "content_type", "kind", "says"),
    [
        (b"<!DOCTYPE html><html><title>Down for maintenance</title>", None, "not-a-feed", "HTML"),
        (b"Sorry", "text/html", "not-a-feed", "HTML"),
        (b'<?xml version="1.0"?><rss/>', None, "not-a-feed", "XML"),
        (b"  ", JSON, "not-a-feed", "empty"),
        (b'{"results": [', JSON, "parse", "broken JSON"),
        (b"\xff\xfe\x00", JSON, "parse", "unreadable"),
    ],
)
def test_a_body_that_is_no_json_is_named_as_such(
    body: bytes, content_type: str | None, kind: str, says: str
) -> None:
    with pytest.raises(FeedError) as caught:
        decode_payload(body, content_type)
    assert caught.value.kind == kind
    assert says in str(caught.value) and "Federal Register API" in str(caught.value)


def test_the_apis_json_under_a_wrong_content_type_is_still_read() -> None:
    assert decode_payload(b'{"count": 0}', "text/html; charset=utf-8") == {"count": 0}


# --- the source over HTTP ---------------------------------------------------------------


def test_a_search_is_read_into_a_document(
    feed_server: FeedServer, source: FederalRegisterSource
) -> None:
    feed_server.set(
        "/api/v1/documents.json",
        fixture("documents.json"),
        content_type=JSON,
        etag='"v1"',
        headers={"Cache-Control": "max-age=300"},
    )
    read = source.read(request(feed_server.url(SEARCH_PATH)))
    assert isinstance(read, Document)
    assert [(i.feed, i.feed_tags, i.guid) for i in read.items] == [
        ("federal-register", ("sanctions",), "2025-11873"),
        ("federal-register", ("sanctions",), "2025-11802"),
        ("federal-register", ("sanctions",), "2025-11655"),
    ]
    assert read.items == tuple(
        items_of(payload("documents.json"), feed="federal-register", tags=("sanctions",)).items
    )
    assert read.validators == Validators(etag='"v1"')
    assert (read.asked_wait, read.warning, read.skipped) == (300.0, None, 0)
    assert read.body_hash is not None


def test_nothing_new_is_unchanged_by_304_or_by_the_same_body(
    feed_server: FeedServer, source: FederalRegisterSource
) -> None:
    feed_server.set(
        "/api/v1/documents.json", fixture("documents.json"), content_type=JSON, etag='"v1"'
    )
    first = source.read(request(feed_server.url(SEARCH_PATH)))
    assert isinstance(first, Document)
    again = source.read(request(feed_server.url(SEARCH_PATH), validators=first.validators))
    assert again == Unchanged("HTTP 304")
    assert feed_server.requests[-1].headers.get("if-none-match") == '"v1"'
    feed_server.set("/plain.json", fixture("documents.json"), content_type=JSON)
    same = source.read(request(feed_server.url("/plain.json"), last_body_hash=first.body_hash))
    assert same == Unchanged("same body")


def test_an_html_error_page_is_a_feed_error(
    feed_server: FeedServer, source: FederalRegisterSource
) -> None:
    feed_server.set(
        "/api/v1/documents.json",
        "<html><head><title>Federal Register: maintenance</title></head><body>Back soon</body></html>",
        content_type="text/html; charset=utf-8",
    )
    with pytest.raises(FeedError) as caught:
        source.read(request(feed_server.url(SEARCH_PATH)))
    assert caught.value.kind == "not-a-feed"
    assert "Federal Register API" in str(caught.value) and "maintenance" in str(caught.value)


def test_public_inspection_is_filtered_by_the_urls_agencies(
    feed_server: FeedServer, source: FederalRegisterSource
) -> None:
    feed_server.set(INSPECTION, fixture("public-inspection.json"), content_type=JSON)
    everything = source.read(request(feed_server.url(INSPECTION)))
    assert isinstance(everything, Document) and len(everything.items) == 3
    sanctions = source.read(request(feed_server.url(INSPECTION + SANCTIONS_AGENCIES)))
    assert isinstance(sanctions, Document)
    assert [item.title for item in sanctions.items] == [
        "Public inspection: Additions to the Entity List",
        "Public inspection: Treasury Department, Foreign Assets Control Office notice: "
        "Sanctions Actions",
    ]


def test_the_factory_builds_the_source_over_the_shared_fetcher() -> None:
    with HttpFetcher(FetchLimits()) as fetcher:
        parser = ParserPool(0)
        try:
            built = build_source(SharedParts(fetcher=fetcher, parser=parser))
            assert isinstance(built, FederalRegisterSource) and built.fetcher is fetcher
        finally:
            parser.close()
