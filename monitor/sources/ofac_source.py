"""The ``ofac-sdn`` source: OFAC's SDN list, or its consolidated (non-SDN)
list, in the classic XML format, from OFAC's Sanctions List Service.

The service answers the export URL (``.../api/PublicationPreview/exports/SDN.XML``)
with a redirect to a short-lived signed link: the fetcher follows it, and
the feed keeps the service URL (the signed link is never stored, and its
signature is masked wherever a URL is shown). Validators sent to the
service URL reach the signed link too, so an unchanged file costs a 304.

Where the feed sets ``probe_url`` (the service's publication history, as
JSON), the source asks it first: a publication it has already read costs
that one small request and no download. The full list stays the source of
truth: every new publication is downloaded whole and diffed, which also
checks it. OFAC's delta files are not used: the probe already spares every
download on days without a publication, and a delta applied to our own
snapshot would be trusted without that check.

Publicly documented, unverified from here (no internet):
https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.XML
and ``CONSOLIDATED.XML`` beside it for the consolidated list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime

from monitor.domain.feed import Validators
from monitor.errors import FeedError
from monitor.sources.base import ListDocument, SourceRequest, Unchanged
from monitor.sources.http import Fetcher, HttpFetcher
from monitor.sources.list_source import DownloadedList, ListFormat, list_fetcher, read_after_probe
from monitor.sources.ofac_sdn import parse_sdn
from monitor.sources.parts import SharedParts

RECENT_ACTIONS = "https://ofac.treasury.gov/recent-actions"

SDN_FORMAT = ListFormat(
    list_name="OFAC SDN List", publisher="OFAC", parse=parse_sdn, link=RECENT_ACTIONS
)
CONSOLIDATED_FORMAT = ListFormat(
    list_name="OFAC Consolidated (non-SDN) List",
    publisher="OFAC",
    parse=parse_sdn,
    link=RECENT_ACTIONS,
)

PUBLICATION_MARK = "publication:"


def list_format_for(url: str) -> ListFormat:
    """The SDN list, unless the URL names the consolidated export."""
    return CONSOLIDATED_FORMAT if "CONS" in url.rpartition("/")[2].upper() else SDN_FORMAT


@dataclass(frozen=True, order=True)
class Publication:
    """One publication as the history names it: its date (when it gives one) and id."""

    published: date | None
    number: int | None
    ident: str

    @property
    def marker(self) -> str:
        when = self.published.isoformat() if self.published else ""
        return f"{PUBLICATION_MARK}{when}|{self.ident}"


def latest_publication(body: bytes) -> Publication | None:
    """The newest publication in the publication history (a JSON list of
    publications, or an object holding one under a key): the latest date,
    then the highest id, compared as dates and numbers, never as text.
    None if the document names none."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    if not isinstance(data, list):
        return None
    found = [p for p in (_publication(item) for item in data if isinstance(item, dict)) if p]
    return max(found, key=_newness) if found else None


def _newness(publication: Publication) -> tuple[date, int, str]:
    return (publication.published or date.min, publication.number or -1, publication.ident)


def _publication(item: dict[str, object]) -> Publication | None:
    when = next((str(item[k]) for k in ("datePublished", "publishDate", "date") if item.get(k)), "")
    ident = next(
        (str(item[k]) for k in ("publicationID", "publicationId", "id") if item.get(k)), ""
    )
    if not when and not ident:
        return None
    return Publication(_date(when), int(ident) if ident.isdigit() else None, ident)


def _date(text: str) -> date | None:
    for layout, length in (("%Y-%m-%d", 10), ("%m/%d/%Y", 10)):
        try:
            return datetime.strptime(text[:length], layout).date()
        except ValueError:
            continue
    return None


class OfacSdnSource:
    """Reads OFAC's classic-format lists (see the module's docstring)."""

    def __init__(self, fetcher: HttpFetcher, probe_fetcher: Fetcher | None = None) -> None:
        self._fetcher = fetcher
        self._probe_fetcher = probe_fetcher or fetcher

    def read(self, request: SourceRequest) -> Unchanged | ListDocument:
        """The list, or Unchanged when the probe or the server says so; raises FeedError."""
        downloaded = DownloadedList(self._fetcher, list_format_for(request.url))
        latest, warning = self._probe(request)
        if latest is None:
            result = downloaded.read(request)
        else:
            # The file must carry the date the history gives it before the
            # marker is kept (see read_after_probe).
            result = read_after_probe(
                downloaded,
                request,
                latest.marker,
                shows=lambda found, _digest: (
                    latest.published is None or found.published == latest.published
                ),
            )
        if isinstance(result, ListDocument) and warning:
            return replace(result, warning=warning)
        return result

    def _probe(self, request: SourceRequest) -> tuple[Publication | None, str | None]:
        """The newest publication, and a warning if the probe failed."""
        if request.probe_url is None:
            return None, None
        try:
            answer = self._probe_fetcher.fetch(request.probe_url, Validators())
        except FeedError as exc:
            return None, f"publication history unreadable ({exc}); downloaded the list instead"
        found = latest_publication(answer.body or b"")
        if found is None:
            return None, "publication history names no publication; downloaded the list instead"
        return found, None

    def close(self) -> None:
        """Close this source's own HTTP client."""
        self._fetcher.close()


def build_source(parts: SharedParts) -> OfacSdnSource:
    """The source, with a client sized for whole lists; the probe uses the shared one."""
    return OfacSdnSource(list_fetcher(parts.limits), probe_fetcher=parts.fetcher)
