"""Realistic items in any number, for bench_archive.py: the real-world
corpus parsed by the monitor's own parser, then spliced.

Each generated item takes its feed, link and the first half of its title and
summary from one corpus item, and the second halves from two others (words
kept whole), so titles and summaries keep the corpus's lengths and
vocabulary while almost every item's text is distinct; a counter in the link
makes every identity distinct.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from monitor.domain.item import Item
from monitor.errors import MonitorError
from monitor.sources.rss import ParseOptions, parse_feed

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "realworld"


@dataclass(frozen=True)
class CorpusFeed:
    """One corpus document: its feed name and the texts of its items."""

    name: str
    items: tuple[Item, ...]


def read_corpus(corpus: Path = CORPUS, files: int | None = None) -> list[CorpusFeed]:
    """The corpus's feeds that give items (the first ``files`` files by name, if given)."""
    paths = sorted(p for p in corpus.iterdir() if p.is_file())[:files]
    feeds = []
    for path in paths:
        name = f"rw-{path.name[:12].lower()}"
        try:
            parsed = parse_feed(
                path.read_bytes(), ParseOptions(feed_name=name, feed_url=f"https://{name}.example/")
            )
        except MonitorError:
            continue  # not a feed: the corpus keeps a few on purpose
        usable = tuple(item for item in parsed.items if item.title.strip())
        if usable:
            feeds.append(CorpusFeed(name, usable))
    if not feeds:
        raise SystemExit(f"no feed with items in {corpus}")
    return feeds


def _splice(first: str, second: str) -> str:
    head, tail = first.split(), second.split()
    return " ".join(head[: (len(head) + 1) // 2] + tail[len(tail) // 2 :])


class ItemMaker:
    """Distinct items of the corpus's feeds, numbered from 0, reproducibly."""

    def __init__(self, feeds: list[CorpusFeed], seed: int = 18) -> None:
        self.feeds = feeds
        self._pool = [item for feed in feeds for item in feed.items]
        self._random = random.Random(seed)
        self.made = 0

    def item(self, feed: CorpusFeed, at: datetime) -> Item:
        """The next item of ``feed``, published shortly before ``at``."""
        pick = self._random
        base = pick.choice(feed.items)
        other, third = pick.choice(self._pool), pick.choice(self._pool)
        number = self.made
        self.made += 1
        link = f"{base.link or f'https://{feed.name}.example/item'}#n{number}"
        return Item(
            feed=feed.name,
            feed_tags=("news",),
            identity=link,
            guid=link,
            title=_splice(base.title, other.title) or base.title,
            summary=_splice(base.summary, third.summary),
            link=link,
            published=at - timedelta(minutes=pick.randrange(1, 90)),
            updated=None,
            publisher=base.publisher,
        )

    def poll_batches(
        self, total: int, *, start: datetime, span: timedelta, sizes: tuple[int, int]
    ) -> Iterator[tuple[datetime, CorpusFeed, list[Item]]]:
        """``total`` items as polls' new items: (poll time, feed, items), in
        time order over ``span`` from ``start``, each poll one random feed's
        ``sizes[0]``-``sizes[1]`` items."""
        low, high = sizes
        done = 0
        while done < total:
            count = min(total - done, self._random.randint(low, high))
            at = start + span * (done / total)
            feed = self._random.choice(self.feeds)
            yield at, feed, [self.item(feed, at) for _ in range(count)]
            done += count
