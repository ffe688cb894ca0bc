"""The Federal Register read by a real monitor: an Entity List rule is seen
at public inspection (a heads-up), then alerts the Chinese-firms rule once
published with a summary naming China; the same document in two feeds is
one item for each rule."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.support.feed_server import FeedServer
from tests.support.monitors import MonitorMaker
from tests.support.setup import FakeClock, FeedSpec
from tests.support.slack_emulator import SlackEmulator

BIS = [
    {"name": "Commerce Department", "slug": "commerce-department"},
    {"name": "Industry and Security Bureau", "slug": "industry-and-security-bureau"},
]
WILDLIFE = [{"name": "Fish and Wildlife Service", "slug": "fish-and-wildlife-service"}]
INSPECTION = "/api/v1/public-inspection-documents/current.json"
DOCUMENTS = "/api/v1/documents.json"


def at_inspection(filed: datetime) -> str:
    results = [
        {
            "document_number": "2026-24001",
            "title": "Additions to the Entity List",
            "type": "Rule",
            "agencies": BIS,
            "filed_at": filed.isoformat(),
            "publication_date": (filed + timedelta(days=2)).date().isoformat(),
            "html_url": "https://www.federalregister.gov/public-inspection/2026-24001/additions",
            "filing_type": "regular",
        },
        {
            "document_number": "2026-24002",
            "title": "Threatened Species Status for an Example Mussel",
            "type": "Proposed Rule",
            "agencies": WILDLIFE,
            "filed_at": filed.isoformat(),
            "publication_date": (filed + timedelta(days=2)).date().isoformat(),
            "html_url": "https://www.federalregister.gov/public-inspection/2026-24002/mussel",
            "filing_type": "regular",
        },
    ]
    return json.dumps({"count": len(results), "results": results})


def published(on: datetime) -> str:
    results = [
        {
            "document_number": "2026-24001",
            "title": "Additions to the Entity List",
            "type": "Rule",
            "abstract": (
                "In this rule, the Bureau of Industry and Security amends the Export "
                "Administration Regulations by adding eleven entities under the destinations "
                "of China and Hong Kong to the Entity List for supplying Russia's military."
            ),
            "agencies": BIS,
            "publication_date": on.date().isoformat(),
            "html_url": "https://www.federalregister.gov/documents/2026/12/08/2026-24001/additions",
        }
    ]
    return json.dumps({"count": 1, "results": results})


def texts(slack: SlackEmulator) -> list[str]:
    """The desk's posts (not the ops notices a quiet feed raises meanwhile)."""
    return [str(m.text) for m in slack.messages if "ops." not in str(m.blocks)]


def test_an_entity_list_rule_is_seen_at_public_inspection_then_published(
    make_monitor: MonitorMaker,
    feed_server: FeedServer,
    slack_emulator: SlackEmulator,
    clock: FakeClock,
) -> None:
    empty = json.dumps({"count": 0, "results": []})
    feed_server.set(INSPECTION, empty, content_type="application/json")
    feed_server.set(DOCUMENTS, empty, content_type="application/json")
    agencies = "?conditions%5Bagencies%5D%5B%5D=industry-and-security-bureau"
    monitor = make_monitor(
        [
            FeedSpec(
                "fedreg-inspection",
                feed_server.url(INSPECTION + agencies),
                tags=("sanctions",),
                type="federal-register",
            ),
            FeedSpec(
                "fedreg-bis",
                feed_server.url(DOCUMENTS + agencies),
                tags=("sanctions",),
                type="federal-register",
            ),
        ]
    )
    monitor.poll_all()

    clock.advance(hours=1)
    feed_server.set(INSPECTION, at_inspection(clock.now), content_type="application/json")
    reports = monitor.poll_all()
    monitor.deliver_due()
    assert all(report.ok for report in reports)
    (heads_up,) = texts(slack_emulator)
    assert "Public inspection: Additions to the Entity List" in heads_up
    assert "Mussel" not in " ".join(texts(slack_emulator))  # another agency: filtered out

    clock.advance(days=2)
    feed_server.set(DOCUMENTS, published(clock.now), content_type="application/json")
    monitor.poll_all()
    monitor.deliver_due()
    assert len(texts(slack_emulator)) == 2
    rules = [
        e.alert.rule_id
        for e in monitor.store.outbox(["sent"])
        if not e.alert.rule_id.startswith("ops.")
    ]
    assert rules == ["us-sanctions-public-inspection", "sanctions-chinese-firms"]
