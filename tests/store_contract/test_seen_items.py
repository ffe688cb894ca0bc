"""SeenItems: an item is new once per feed, under any of its keys."""

from __future__ import annotations

from monitor.store.ports import Store
from tests.store_contract.conftest import OpenStore
from tests.store_contract.records import commit, item


def test_seen_items_are_per_feed_and_survive_a_restart(open_store: OpenStore) -> None:
    store = open_store()
    a, b = item("a"), item("b")
    assert store.unseen("f", [a, b]) == [a, b]
    assert store.unseen("f", []) == []
    commit(store, [a])
    store.close()
    reopened = open_store()
    assert reopened.unseen("f", [a, b]) == [b]
    assert reopened.unseen("other-feed", [a]) == [a], "seen is per feed"


def test_an_item_whose_guid_changed_but_link_and_title_did_not_is_not_new(store: Store) -> None:
    commit(store, [item("old", link="https://x/story", title="Story")])
    assert store.unseen("f", [item("new", link="https://x/story", title="Story")]) == []
    # A live blog gives each post the page's link: another title is another item.
    other = item("new2", link="https://x/story", title="Update 2")
    assert store.unseen("f", [other]) == [other]


def test_many_items_are_looked_up_at_once_in_their_order(store: Store) -> None:
    items = [item(f"i{n:04d}") for n in range(1_500)]
    commit(store, items[::2])
    assert store.unseen("f", items[::-1]) == items[::-1][::2]
