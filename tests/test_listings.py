"""Official lists: OFAC's classic SDN XML read as a stream, and the diff of two snapshots."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from monitor.domain.listing import ListingEntry
from monitor.errors import FeedError
from monitor.pipeline.listings import SnapshotDiff, diff_snapshot, snapshot_digests
from monitor.sources.list_source import ParsedList
from monitor.sources.ofac_sdn import parse_sdn
from tests.support.setup import ROOT

LISTS = ROOT / "tests" / "fixtures" / "lists"
SNAPSHOT_A = LISTS / "ofac-sdn-a.xml"
SNAPSHOT_B = LISTS / "ofac-sdn-b.xml"
LINK = "https://sanctionssearch.ofac.treas.gov/Details.aspx?id={key}"


def parse_bytes(body: bytes) -> ParsedList:
    return parse_sdn(io.BytesIO(body), list_name="OFAC SDN", source="ofac-sdn", link=LINK)


def read_entries(path: Path) -> dict[str, ListingEntry]:
    with path.open("rb") as stream:
        document = parse_sdn(stream, list_name="OFAC SDN", source="ofac-sdn", link=LINK)
        return {entry.key: entry for entry in document.entries}


def diff(
    previous: Mapping[str, ListingEntry] | None,
    current: Mapping[str, ListingEntry],
    **kwargs: float,
) -> SnapshotDiff:
    """Diff two parsed snapshots, the earlier one's entries standing in for the store."""
    old: Mapping[str, ListingEntry] = previous or {}
    return diff_snapshot(
        None if previous is None else snapshot_digests(previous),
        current,
        previous_entries=old.get,
        **kwargs,
    )


# --- parsing -------------------------------------------------------------------


def test_header_gives_publication_date_and_record_count() -> None:
    with SNAPSHOT_A.open("rb") as stream:
        document = parse_sdn(stream, list_name="OFAC SDN", source="ofac-sdn", link=None)
        assert document.published == date(2026, 11, 28)
        assert document.declared_count == 6
        assert len(list(document.entries)) == 6


def test_entries_carry_names_types_programs_and_countries() -> None:
    entries = read_entries(SNAPSHOT_A)
    firm = entries["1001"]
    assert firm.list_name == "OFAC SDN"
    assert firm.source == "ofac-sdn"
    assert firm.name == "NORTHWIND LOGISTICS FZE"
    assert firm.entity_type == "entity"
    assert firm.programs == ("RUSSIA-EO14024",)
    assert firm.countries == ("United Arab Emirates",)
    assert firm.link == "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=1001"
    assert firm.listed_on is None

    person = entries["1002"]
    assert person.entity_type == "individual"
    assert person.name == "PETROVSKY, Ivan Sergeevich"
    assert person.aliases == ("PETROVSKI, Ivan",)
    # Nationality and citizenship both name Russia: it is listed once.
    assert person.countries == ("Russia",)
    assert person.remarks == "Linked To: NORTHWIND LOGISTICS FZE."

    assert entries["1003"].entity_type == "vessel"
    assert entries["1003"].countries == ("Panama",)  # the vessel's flag
    assert entries["1004"].entity_type == "aircraft"
    assert entries["1004"].countries == ()


def test_hong_kong_stays_distinct_from_china_whatever_the_namespace() -> None:
    # Snapshot b declares another default namespace URI than a.
    entries = read_entries(SNAPSHOT_B)
    chinese = entries["2001"]
    assert chinese.countries == ("China",)
    assert chinese.aliases == ("BRIGHTSTAR MICRO", "SHENZHEN BRIGHTSTAR")
    assert entries["2002"].countries == ("Hong Kong",)
    assert entries["2003"].countries == ("Kyrgyzstan",)
    assert entries["1006"].programs == ("SDGT", "RUSSIA-EO14024")


def test_a_document_without_namespace_or_entries_parses() -> None:
    document = parse_bytes(
        b"<sdnList><publshInformation><Publish_Date>01/02/2027</Publish_Date>"
        b"<Record_Count>0</Record_Count></publshInformation></sdnList>"
    )
    assert document.published == date(2027, 1, 2)
    assert document.declared_count == 0
    assert list(document.entries) == []


def test_an_unknown_sdn_type_reads_as_an_entity() -> None:
    document = parse_bytes(
        b"<sdnList><sdnEntry><uid>9</uid><lastName>X</lastName>"
        b"<sdnType>Spacecraft</sdnType></sdnEntry></sdnList>"
    )
    assert [entry.entity_type for entry in document.entries] == ["entity"]


def test_a_long_list_streams_entry_by_entry() -> None:
    body = b"".join(
        [b'<sdnList xmlns="urn:x">']
        + [
            b"<sdnEntry><uid>%d</uid><lastName>FIRM %d</lastName><sdnType>Entity</sdnType>"
            b"<addressList><address><country>China</country></address></addressList>"
            b"</sdnEntry>" % (n, n)
            for n in range(5000)
        ]
        + [b"</sdnList>"]
    )
    stream = io.BytesIO(body)
    document = parse_sdn(stream, list_name="OFAC SDN", source="ofac-sdn", link=LINK)
    keys: list[str] = []
    read_at_first_entry = -1
    for entry in document.entries:
        if not keys:
            read_at_first_entry = stream.tell()
        keys.append(entry.key)
    assert keys == [str(n) for n in range(5000)]
    # The first entry came out while most of the document was still unread:
    # entries are built as the stream is read, not after reading it whole.
    assert 0 < read_at_first_entry < len(body) // 4


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<sdnList><sdnEntry><uid>1</uid></sdnList>", id="mismatched-tag"),
        pytest.param(b"<html><body>Service unavailable</body></html>", id="not-an-sdn-list"),
        pytest.param(
            b"<sdnList><sdnEntry><lastName>X</lastName></sdnEntry></sdnList>", id="no-uid"
        ),
        pytest.param(
            b"<sdnList><publshInformation><Record_Count>many</Record_Count>"
            b"</publshInformation></sdnList>",
            id="bad-record-count",
        ),
    ],
)
def test_malformed_documents_raise_a_parse_error(body: bytes) -> None:
    with pytest.raises(FeedError) as caught:
        list(parse_bytes(body).entries)
    assert caught.value.kind == "parse"
    assert "OFAC SDN" in str(caught.value)


def test_a_truncated_download_raises_a_parse_error_with_its_position() -> None:
    body = SNAPSHOT_B.read_bytes()
    truncated = body[: len(body) * 2 // 3]
    document = parse_bytes(truncated)  # the header is whole
    assert document.published == date(2026, 12, 1)
    with pytest.raises(FeedError) as caught:
        list(document.entries)
    assert caught.value.kind == "parse"
    assert "malformed or truncated" in str(caught.value)
    assert "line" in str(caught.value)


# --- entries as values -----------------------------------------------------------


def test_entry_round_trips_through_json_and_digests_stably() -> None:
    entry = replace(read_entries(SNAPSHOT_B)["2001"], listed_on=date(2026, 12, 1))
    assert ListingEntry.from_json(entry.to_json()) == entry
    assert ListingEntry.from_json(entry.to_json()).digest() == entry.digest()
    # Reordering what is a set, or renaming the feed, changes nothing of substance.
    reordered = replace(entry, aliases=tuple(reversed(entry.aliases)))
    assert reordered.digest() == entry.digest()
    assert replace(entry, list_name="OFAC", link=None).digest() == entry.digest()
    assert replace(entry, programs=("SDGT",)).digest() != entry.digest()
    assert replace(entry, countries=("Hong Kong",)).digest() != entry.digest()


def test_from_json_refuses_what_is_not_an_entry() -> None:
    data = read_entries(SNAPSHOT_A)["1001"].to_json()
    with pytest.raises(ValueError, match="entity_type"):
        ListingEntry.from_json({**data, "entity_type": "ship"})
    with pytest.raises(ValueError, match="aliases"):
        ListingEntry.from_json({**data, "aliases": "NORTHWIND"})


# --- diffing snapshots -----------------------------------------------------------


def test_the_first_snapshot_is_a_silent_baseline() -> None:
    result = diff(None, read_entries(SNAPSHOT_A))
    assert result.baseline
    assert result.accepted
    assert result.events == ()


def test_an_unchanged_snapshot_makes_no_events() -> None:
    entries = read_entries(SNAPSHOT_A)
    result = diff(entries, read_entries(SNAPSHOT_A))
    assert not result.baseline
    assert result.accepted
    assert result.events == ()


def test_additions_removals_and_changes_become_events() -> None:
    before = read_entries(SNAPSHOT_A)
    after = read_entries(SNAPSHOT_B)
    result = diff(before, after)
    assert result.accepted
    assert not result.baseline
    assert [(e.change, e.entry.key) for e in result.events] == [
        ("added", "2001"),
        ("added", "2002"),
        ("added", "2003"),
        ("changed", "1006"),
        ("removed", "1005"),
    ]
    added = result.of_change("added")
    assert [e.entry.countries for e in added] == [("China",), ("Hong Kong",), ("Kyrgyzstan",)]
    assert all(e.previous is None for e in added)
    (changed,) = result.of_change("changed")
    assert changed.previous == before["1006"]
    assert changed.entry.programs == ("SDGT", "RUSSIA-EO14024")
    (removed,) = result.of_change("removed")
    assert removed.entry == before["1005"]
    assert removed.previous is None


def test_a_removal_whose_entry_was_not_kept_is_reported_unresolved() -> None:
    before = read_entries(SNAPSHOT_A)
    after = read_entries(SNAPSHOT_B)
    result = diff_snapshot(snapshot_digests(before), after, previous_entries=lambda key: None)
    assert result.accepted
    assert result.unresolved == ("1005",)
    assert result.of_change("removed") == ()
    (changed,) = result.of_change("changed")
    assert changed.previous is None


def test_a_snapshot_that_lost_too_many_keys_is_refused() -> None:
    before = read_entries(SNAPSHOT_A)
    truncated = {key: before[key] for key in ("1001", "1002")}
    result = diff(before, truncated)
    assert not result.accepted
    assert result.events == ()
    assert result.refused is not None
    assert "lost 4 of the last snapshot's 6 entries" in result.refused


def test_an_empty_snapshot_is_refused() -> None:
    result = diff(read_entries(SNAPSHOT_A), {})
    assert not result.accepted
    assert result.events == ()
    assert result.refused is not None
    assert "empty" in result.refused


def test_the_loss_share_is_a_setting() -> None:
    before = read_entries(SNAPSHOT_A)
    after = read_entries(SNAPSHOT_B)  # lost one key of six
    assert not diff(before, after, max_loss_share=0.1).accepted
    assert diff(before, after, max_loss_share=0.2).accepted
    # From an empty list, anything is an addition.
    assert len(diff({}, after).of_change("added")) == 8
    with pytest.raises(ValueError, match="max_loss_share"):
        diff(before, after, max_loss_share=1.5)


def test_an_empty_first_snapshot_is_no_baseline() -> None:
    verdict = diff_snapshot(None, {}, previous_entries=lambda key: None)
    assert not verdict.accepted and "first snapshot is empty" in (verdict.refused or "")


def test_a_mass_of_additions_to_a_short_last_snapshot_is_refused() -> None:
    def party(key: str) -> ListingEntry:
        return ListingEntry("L", "src", key, f"P{key}", (), "entity", (), (), None, "", None)

    short = {str(n): party(str(n)) for n in range(400)}
    whole = {str(n): party(str(n)) for n in range(1000)}
    verdict = diff_snapshot(snapshot_digests(short), whole, previous_entries=short.get)
    assert not verdict.accepted
    assert "adds 600 entries to the last snapshot's 400" in (verdict.refused or "")
    # A small list growing by half is no mass: 3 added to 6.
    small = dict(list(short.items())[:6])
    grown = dict(list(short.items())[:9])
    assert diff_snapshot(snapshot_digests(small), grown, previous_entries=small.get).accepted


def test_a_digest_of_another_version_is_rewritten_without_an_event() -> None:
    def party(key: str, name: str) -> ListingEntry:
        return ListingEntry("L", "src", key, name, (), "entity", (), (), None, "", None)

    now = {"1": party("1", "ONE"), "2": party("2", "TWO (renamed)")}
    stored = {"1": "v0:" + "0" * 64, "2": party("2", "TWO").digest()}
    verdict = diff_snapshot(stored, now, previous_entries=lambda key: party(key, "TWO"))
    assert verdict.restamped == ("1",)
    assert [(e.change, e.entry.key) for e in verdict.events] == [("changed", "2")]
