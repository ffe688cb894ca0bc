"""Official lists at scale: parsing, reading and diffing OFAC-format SDN XML of tens of megabytes.

    python3 bench/bench_lists.py [--sizes 30,120] [--reps 3] [--diff-size 30] [--json PATH]

Generates (seeded, into a temporary directory) SDN-format lists of each
``--sizes`` MB (10^6 bytes) whose entries look like OFAC's in kind and in
bytes per entry, and an update of the ``--diff-size`` list (entries added,
removed, changed, and "cosmetic" edits the digest must not notice). Then
times each step in a fresh process, so that its peak RSS is its own:

- whole tree: ``ElementTree.parse``, then a walk building the same entries
  (the naive baseline of the ratios);
- stream: ``parse_sdn``, its entries consumed one by one;
- monitor_read: the list read as a poll reads it (``DownloadedList``):
  the body spooled to a temporary file and hashed as it arrives, then parsed
  from the file and checked whole;
- diff: both snapshots read so, ``snapshot_digests`` of the first and
  ``diff_snapshot`` of the second; it must find exactly the planted changes.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 20261216
MB = 10**6
MIB = 2**20
REFERENCE = (
    "OFAC's SDN.XML: about 29 MB for roughly 18,000 entries (~1,600 bytes an entry); "
    "figure as stated in issue 16's brief, not fetched by this bench"
)
RSS_TARGET_MIB = 200.0
DIFF_TARGET_SECONDS = 5.0
PLANTED = {"added": 40, "removed": 10, "changed": 25, "cosmetic": 5}

COUNTRIES = {
    "China": ["Shenzhen", "Shanghai", "Guangzhou", "Beijing", "Ningbo", "Dalian"],
    "Hong Kong": ["Kowloon", "Wan Chai", "Tsim Sha Tsui", "Central", "Kwun Tong"],
    "Russia": ["Moscow", "Saint Petersburg", "Novosibirsk", "Yekaterinburg"],
    "Iran": ["Tehran", "Bandar Abbas", "Isfahan"], "United Arab Emirates": ["Dubai", "Sharjah"],
    "Turkey": ["Istanbul", "Ankara", "Mersin"], "Syria": ["Damascus", "Latakia"],
    "Lebanon": ["Beirut"], "Venezuela": ["Caracas", "Maracaibo"],
    "Mexico": ["Culiacan", "Guadalajara", "Tijuana"], "Korea, North": ["Pyongyang", "Nampo"],
    "Burma": ["Yangon", "Naypyidaw"], "Belarus": ["Minsk"], "Cyprus": ["Limassol", "Nicosia"],
    "Singapore": ["Singapore"], "Malaysia": ["Kuala Lumpur"], "India": ["Mumbai", "New Delhi"],
    "Panama": ["Panama City"], "Marshall Islands": ["Majuro"], "Iraq": ["Baghdad", "Erbil"],
}  # fmt: skip
COUNTRY_NAMES = list(COUNTRIES)
COUNTRY_WEIGHTS = [14, 9, 16, 10, 8, 4, 3, 3, 3, 5, 3, 2, 2, 2, 2, 1, 1, 2, 2, 2]
PROGRAMS = [
    "SDGT", "SDNTK", "IRAN", "IRAN-EO13846", "IRGC", "IFSR", "NPWMD", "RUSSIA-EO14024",
    "UKRAINE-EO13662", "UKRAINE-EO13660", "CYBER2", "DPRK3", "SYRIA", "VENEZUELA-EO13850",
    "BELARUS-EO14038", "GLOMAG", "ILLICIT-DRUGS-EO14059", "HK-EO13936", "TCO", "BURMA-EO14014",
]  # fmt: skip
SYLLABLES = [
    "al", "an", "bar", "cor", "dan", "del", "ev", "far", "gor", "han", "is", "kal", "lin",
    "mar", "nor", "ov", "pet", "ra", "sun", "tal", "ur", "vel", "wen", "yar", "zhi", "ko",
]  # fmt: skip
ENTITY_WORDS = [
    "TRADING", "LOGISTICS", "SHIPPING", "TECHNOLOGY", "INDUSTRIAL", "ELECTRONICS", "PETROCHEMICAL",
    "INVESTMENT", "HOLDINGS", "IMPORT EXPORT", "MARINE", "ENERGY", "AVIATION", "MACHINERY",
]  # fmt: skip
ENTITY_SUFFIXES = ["CO., LIMITED", "LLC", "FZE", "LTD", "JSC", "GMBH", "CO., LTD.", "OOO", "S.A."]


@dataclass
class Party:
    """One generated SDN entry, kept as data so that an update can edit it."""

    uid: int
    sdn_type: str
    last: str
    first: str = ""
    remarks: str = ""
    programs: list[str] = field(default_factory=list)
    akas: list[tuple[str, str, str, str]] = field(default_factory=list)  # type, category, names
    addresses: list[tuple[str, str, str, str]] = field(default_factory=list)  # ..., country
    ids: list[tuple[str, str, str]] = field(default_factory=list)  # type, number, country
    nationalities: list[str] = field(default_factory=list)
    births: list[tuple[str, str]] = field(default_factory=list)  # date, place
    vessel: dict[str, str] = field(default_factory=dict)

    def countries(self) -> set[str]:
        flag = [self.vessel["vesselFlag"]] if self.vessel else []
        return {*(a[3] for a in self.addresses), *(i[2] for i in self.ids), *self.nationalities, *flag}  # fmt: skip


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).upper()


def _country(rng: random.Random) -> str:
    return rng.choices(COUNTRY_NAMES, COUNTRY_WEIGHTS)[0]


def _many(rng: random.Random, mean: float, cap: int) -> int:
    """A skewed count: most entries have a few, some have many (as real akas and ids do)."""
    return min(cap, int(rng.expovariate(1 / mean)))


def make_party(uid: int) -> Party:
    """The entry of ``uid``: the same for the same uid in every snapshot."""
    rng = random.Random(f"{SEED}:{uid}")
    kind = rng.choices(["Individual", "Entity", "Vessel", "Aircraft"], [40, 52, 6, 2])[0]
    party = Party(uid=uid, sdn_type=kind, last="")
    party.programs = rng.sample(PROGRAMS, 1 + _many(rng, 0.6, 4))
    home = _country(rng)
    if kind == "Individual":
        party.last = _word(rng, rng.randint(2, 3))
        party.first = " ".join(_word(rng, 2).title() for _ in range(rng.randint(1, 2)))
        party.akas = [
            ("a.k.a.", rng.choice(["strong", "weak"]), _word(rng, 3), _word(rng, 2).title())
            for _ in range(_many(rng, 3.0, 25))
        ]
        party.nationalities = [home]
        party.births = [
            (f"{rng.randint(1, 28):02d} {rng.choice(['Jan', 'Mar', 'Jul', 'Oct'])} "
             f"{rng.randint(1950, 1995)}", f"{rng.choice(COUNTRIES[home])}, {home}")
            for _ in range(rng.randint(1, 2))
        ]  # fmt: skip
        party.ids = [("Gender", rng.choice(["Male", "Female"]), "")] + [
            (rng.choice(["Passport", "National ID No."]), f"{rng.randrange(10**8, 10**9)}", home)
            for _ in range(_many(rng, 1.5, 8))
        ]
    else:
        words = rng.sample(ENTITY_WORDS, rng.randint(1, 2))
        party.last = f"{_word(rng, 2)} {' '.join(words)} {rng.choice(ENTITY_SUFFIXES)}"
        if kind == "Vessel":
            party.last = f"{_word(rng, 2)} {_word(rng, 1)}"
        elif kind == "Aircraft":
            party.last = f"EP-{_word(rng, 1)}{rng.randint(0, 9)}"
        party.akas = [
            (rng.choice(["a.k.a.", "f.k.a."]), "strong", f"{_word(rng, 2)} {words[0]}", "")
            for _ in range(_many(rng, 2.5, 30))
        ]
        party.ids = [
            (rng.choice(["Registration Number", "Tax ID No.", "Unified Social Credit Code (USCC)"]),
             f"{rng.randrange(10**11, 10**12)}", home),
            ("Secondary sanctions risk:", "See Section 11 of Executive Order 13224.", ""),
            ("Organization Established Date", f"{rng.randint(1990, 2022)}", ""),
            ("Website", f"www.{_word(rng, 2).lower()}.com", ""),
        ][: rng.randint(1, 4)]  # fmt: skip
    for _ in range(1 + _many(rng, 0.8, 6) if kind != "Aircraft" else 0):
        where = home if rng.random() < 0.6 else _country(rng)
        party.addresses.append(
            (f"{rng.randint(1, 999)} {_word(rng, 2).title()} Road, Room {rng.randint(100, 2999)}",
             rng.choice(COUNTRIES[where]), f"{rng.randrange(10**5, 10**6)}", where)
        )  # fmt: skip
    if kind == "Vessel":
        party.ids = [("IMO", f"{rng.randrange(9_000_000, 9_999_999)}", ""),
                     ("MMSI", f"{rng.randrange(10**8, 10**9)}", "")]  # fmt: skip
        party.vessel = {
            "callSign": f"{_word(rng, 1)}{rng.randint(10, 99)}",
            "vesselType": rng.choice(["Crude Oil Tanker", "Bulk Carrier", "General Cargo"]),
            "vesselFlag": rng.choice(["Panama", "Iran", "Hong Kong", "China", "Cameroon"]),
            "vesselOwner": f"{_word(rng, 2)} SHIPPING {rng.choice(ENTITY_SUFFIXES)}",
            "tonnage": f"{rng.randrange(5_000, 300_000)}",
            "grossRegisteredTonnage": f"{rng.randrange(5_000, 300_000)}",
        }
    if rng.random() < 0.45:
        linked = f"{_word(rng, 2)} {rng.choice(ENTITY_WORDS)} {rng.choice(ENTITY_SUFFIXES)}"
        party.remarks = f"(Linked To: {linked})"
    return party


def render(party: Party) -> str:
    """The ``sdnEntry`` element of ``party``, laid out as OFAC's file is."""
    sub = iter(range(party.uid * 100, party.uid * 100 + 100))

    def leaf(tag: str, text: str, depth: int) -> str:
        return f"{'  ' * depth}<{tag}>{escape(text)}</{tag}>\n" if text else ""

    def group(holder: str, item: str, rows: list[list[tuple[str, str]]]) -> str:
        if not rows:
            return ""
        inner = "".join(
            f"      <{item}>\n{leaf('uid', str(next(sub)), 4)}"
            + "".join(leaf(tag, text, 4) for tag, text in row)
            + f"      </{item}>\n"
            for row in rows
        )
        return f"    <{holder}>\n{inner}    </{holder}>\n"

    out = [
        "  <sdnEntry>\n",
        leaf("uid", str(party.uid), 2), leaf("firstName", party.first, 2),
        leaf("lastName", party.last, 2), leaf("sdnType", party.sdn_type, 2),
        leaf("remarks", party.remarks, 2),
        "    <programList>\n", *(leaf("program", p, 3) for p in party.programs), "    </programList>\n",
        group("idList", "id", [[("idType", t), ("idNumber", n), ("idCountry", c)] for t, n, c in party.ids]),
        group("akaList", "aka", [[("type", t), ("category", c), ("lastName", ln), ("firstName", fn)] for t, c, ln, fn in party.akas]),
        group("addressList", "address", [[("address1", a), ("city", ci), ("postalCode", p), ("country", co)] for a, ci, p, co in party.addresses]),
        group("nationalityList", "nationality", [[("country", c), ("mainEntry", "true")] for c in party.nationalities]),
        group("dateOfBirthList", "dateOfBirthItem", [[("dateOfBirth", d), ("mainEntry", "true")] for d, _ in party.births]),
        group("placeOfBirthList", "placeOfBirthItem", [[("placeOfBirth", p), ("mainEntry", "true")] for _, p in party.births]),
    ]  # fmt: skip
    if party.vessel:
        out += ["    <vesselInfo>\n", *(leaf(k, v, 3) for k, v in party.vessel.items()), "    </vesselInfo>\n"]  # fmt: skip
    out.append("  </sdnEntry>\n")
    return "".join(out)


def write_list(path: Path, parties: Iterator[Party], target_bytes: int | None) -> list[int]:
    """Write parties to ``path`` as an SDN document, stopping once the body
    reaches ``target_bytes`` (if given); the uids written, in order."""
    uids: list[int] = []
    body = path.with_suffix(".body")
    with body.open("wb") as out:
        written = 0
        for party in parties:
            chunk = render(party).encode("utf-8")
            out.write(chunk)
            written += len(chunk)
            uids.append(party.uid)
            if target_bytes is not None and written >= target_bytes:
                break
    with path.open("wb") as out, body.open("rb") as source:
        out.write(
            b'<?xml version="1.0" standalone="yes"?>\n<sdnList xmlns:xsi="http://www.w3.org/2001/'
            b'XMLSchema-instance" xmlns="http://tempuri.org/sdnList.xsd">\n  <publshInformation>\n'
            b"    <Publish_Date>12/16/2026</Publish_Date>\n"
            + f"    <Record_Count>{len(uids)}</Record_Count>\n".encode()
            + b"  </publshInformation>\n"
        )
        shutil.copyfileobj(source, out)
        out.write(b"</sdnList>\n")
    body.unlink()
    return uids


def all_uids() -> Iterator[int]:
    rng = random.Random(f"{SEED}:uids")
    uid = 7_000
    while True:
        uid += rng.choice((1, 1, 2, 3, 7, 20))
        yield uid


def write_update(path: Path, uids: list[int]) -> dict[str, set[str]]:
    """A later snapshot of the list of ``uids``: some entries removed, some
    changed in what the digest covers, some edited only where it must not
    notice, some added at the end. Returns the planted keys by kind."""
    rng = random.Random(f"{SEED}:update")
    picked = rng.sample(uids[:-1], PLANTED["removed"] + PLANTED["changed"] + 200)
    removed = set(picked[: PLANTED["removed"]])
    changed = picked[PLANTED["removed"] : PLANTED["removed"] + PLANTED["changed"]]
    pool = (make_party(uid) for uid in picked[PLANTED["removed"] + PLANTED["changed"] :])
    cosmetic = [p.uid for p in pool if len(p.akas) >= 2][: PLANTED["cosmetic"]]
    start = uids[-1] + 1
    added = list(range(start, start + PLANTED["added"]))

    def parties() -> Iterator[Party]:
        for uid in uids:
            if uid in removed:
                continue
            party = make_party(uid)
            if uid in changed:
                _change(party, changed.index(uid))
            elif uid in cosmetic:
                party.akas.reverse()  # aliases count as a set, and category is not kept
                party.akas[0] = (party.akas[0][0], "weak", *party.akas[0][2:])
            yield party
        yield from (make_party(uid) for uid in added)

    write_list(path, parties(), None)
    planted = {"added": added, "removed": removed, "changed": changed, "cosmetic": cosmetic}
    return {kind: {str(uid) for uid in keys} for kind, keys in planted.items()}


def _change(party: Party, turn: int) -> None:
    """One of the edits OFAC makes to a listed entry, each visible to the digest."""
    match turn % 5:
        case 0:
            party.akas.append(("a.k.a.", "strong", f"NEW ALIAS {party.uid}", ""))
        case 1:
            party.programs.append(next(p for p in PROGRAMS if p not in party.programs))
        case 2:
            new = next(c for c in ("Hong Kong", *COUNTRIES) if c not in party.countries())
            party.addresses.append(("Unit 5, 12 Example Street", COUNTRIES[new][0], "", new))
        case 3:
            party.remarks = f"{party.remarks} Subject to Secondary Sanctions".strip()
        case _:
            party.last = f"{party.last} (CORRECTED)"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB


def child(step: str, paths: list[Path]) -> dict[str, Any]:
    """One step, in this (fresh) process: its seconds, its peak RSS, and what it found."""
    from monitor.domain.listing import LISTING_CHANGES
    from monitor.pipeline.listings import diff_snapshot, snapshot_digests
    from monitor.sources.base import ListDocument, SourceRequest
    from monitor.sources.list_source import DownloadedList, ListFormat, list_fetcher
    from monitor.sources.ofac_sdn import parse_sdn

    list_format = ListFormat(list_name="OFAC SDN List", publisher="OFAC", parse=parse_sdn)
    reader = DownloadedList(list_fetcher(None), list_format)

    def read_whole(path: Path) -> Any:
        # As a poll reads a list: the body copied to a spool file and hashed
        # as it comes (a file:// URL takes the same path as a download), then
        # parsed from the file and checked whole.
        request = SourceRequest(feed="ofac-sdn", url=path.as_uri(), redact=str)
        document = reader.read(request)
        assert isinstance(document, ListDocument)
        return document.publication

    floor = peak_rss_mib()
    found: dict[str, Any] = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    if step == "stream":
        with paths[0].open("rb") as stream:
            parsed = parse_sdn(stream, list_name="OFAC SDN List", source="ofac-sdn", link=None)
            found["entries"] = sum(1 for _ in parsed.entries)
    elif step == "whole-tree":
        found["entries"] = whole_tree_entries(paths[0])
    elif step == "monitor_read":
        found["entries"] = len(read_whole(paths[0]).entries)
    else:
        lap = started
        first = read_whole(paths[0])
        found["read_first_seconds"], lap = time.perf_counter() - lap, time.perf_counter()
        previous = snapshot_digests(first.entries)
        found["digests_seconds"], lap = time.perf_counter() - lap, time.perf_counter()
        second = read_whole(paths[1])
        found["read_second_seconds"], lap = time.perf_counter() - lap, time.perf_counter()
        diff = diff_snapshot(previous, second.entries, previous_entries=first.entries.get)
        found["diff_seconds"] = time.perf_counter() - lap
        found["entries"] = len(second.entries)
        found["refused"] = diff.refused
        events = {kind: diff.of_change(kind) for kind in LISTING_CHANGES}
        found["found"] = {kind: sorted(e.entry.key for e in got) for kind, got in events.items()}
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rss = peak_rss_mib()
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": rss, "floor_rss_mib": floor, **found}  # fmt: skip


def whole_tree_entries(path: Path) -> int:
    """The naive reading: the whole document as one tree, then a walk building
    the same entries with the streaming parser's own per-entry code, so that
    only the way of reading differs."""
    import xml.etree.ElementTree as ET

    from monitor.sources.ofac_sdn import ENTRY_ELEMENT, _entry

    root = ET.parse(path).getroot()
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    count = 0
    for element in root:
        if element.tag == ENTRY_ELEMENT:
            _entry(element, list_name="OFAC SDN List", source="ofac-sdn", link=None)
            count += 1
    return count


def measure(step: str, paths: list[Path], reps: int) -> dict[str, Any]:
    """``step`` in ``reps`` fresh processes: median seconds, largest peak RSS."""
    runs = []
    for _ in range(reps):
        command = [sys.executable, __file__, "--child", step, *map(str, paths)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    summary = {**runs[-1], "reps": reps}
    for key in summary:
        if key.endswith("seconds"):
            summary[key] = statistics.median(run[key] for run in runs)
    summary["peak_rss_mib"] = max(run["peak_rss_mib"] for run in runs)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="30,120", help="list sizes, MB (10^6 bytes)")
    parser.add_argument("--reps", type=int, default=3, help="processes per step")
    parser.add_argument("--large-reps", type=int, help="processes per step, lists over 50 MB")
    parser.add_argument("--diff-size", type=int, default=30, help="MB of each diffed snapshot")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.paths)))
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    rows: list[dict[str, Any]] = []
    print(REFERENCE)
    with tempfile.TemporaryDirectory() as temp:
        files: dict[int, Path] = {}
        for size in sorted({*sizes, args.diff_size}):
            files[size] = Path(temp) / f"sdn-{size}mb.xml"
            uids = write_list(files[size], (make_party(u) for u in all_uids()), size * MB)
            print(f"generated {size} MB list: {describe(files[size], len(uids))}")
            if size == args.diff_size:
                update = Path(temp) / f"sdn-{size}mb-update.xml"
                planted = write_update(update, uids)
                count = len(uids) + PLANTED["added"] - PLANTED["removed"]
                print(f"its update: {describe(update, count)}; planted {counts(planted)}")
        for size in sizes:
            reps = args.large_reps if args.large_reps and size > 50 else args.reps
            baseline = measure("whole-tree", [files[size]], reps)
            rows.append({"step": "whole-tree", "size_mb": size, **baseline, "baseline": baseline})
            for step in ("stream", "monitor_read"):
                figures = measure(step, [files[size]], reps)
                rows.append({"step": step, "size_mb": size, **figures, "baseline": baseline})
        diff = measure("diff", [files[args.diff_size], update], args.reps)
        rows.append({"step": "diff", "size_mb": args.diff_size, **diff, "baseline": None})
    print_table(rows)
    exact = all(set(keys) == planted[kind] for kind, keys in diff["found"].items())
    print(f"diff found: {counts(diff['found'])}; refused: {diff['refused']}; ", end="")
    print(f"exactly the planted keys: {'yes' if exact else 'NO'}")
    targets = target_verdicts(rows, max(sizes))
    print("\n".join(targets))
    if args.json:
        report = {"reference": REFERENCE, "rows": rows, "diff_exact": exact, "targets": targets}
        for row in rows:
            row.pop("baseline")
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if not exact:
        raise SystemExit("the diff did not find exactly the planted changes")


def counts(keys: dict[str, Any]) -> str:
    return ", ".join(f"{len(found)} {kind}" for kind, found in keys.items())


def describe(path: Path, count: int) -> str:
    size = path.stat().st_size
    return f"{size / MB:.1f} MB, {count:,} entries, {size / count:,.0f} bytes an entry"


LABELS = {"whole-tree": "parse: ET.parse whole tree (base)", "stream": "parse: parse_sdn streaming",
          "monitor_read": "monitor read (spooled, checked)", "diff": "diff: read both, digests, diff"}  # fmt: skip


def print_table(rows: list[dict[str, Any]]) -> None:
    def ratio(row: dict[str, Any], key: str) -> str:
        return f"{row[key] / row['baseline'][key]:.2f}" if row["baseline"] else "-"

    print(
        f"\n{'step':<34} {'size':>6} {'entries':>7} {'reps':>4} {'seconds':>7} {'cpu s':>6} {'peak RSS':>8} "
        f"{'floor':>6} {'s/base':>6} {'RSS/base':>8}"
    )
    for row in rows:
        print(
            f"{LABELS[row['step']]:<34} {row['size_mb']:>3} MB {row['entries']:>7,} {row['reps']:>4} "
            f"{row['seconds']:>7.2f} {row['cpu_seconds']:>6.2f} {row['peak_rss_mib']:>4.0f} MiB {row['floor_rss_mib']:>2.0f} MiB "
            f"{ratio(row, 'seconds'):>6} {ratio(row, 'peak_rss_mib'):>8}"
        )
        if row["step"] == "diff":
            for part in ("read_first", "digests", "read_second", "diff"):
                print(f"{'  of which ' + part:<34} {'':>23} {row[part + '_seconds']:>7.2f}")
    print(
        "seconds (wall), cpu s: medians of the processes; peak RSS: their largest ru_maxrss; floor: RSS before"
    )
    print("the step (interpreter and imports); s/base, RSS/base: to the whole tree of the size\n")


def target_verdicts(rows: list[dict[str, Any]], largest: int) -> list[str]:
    """The issue's targets, against the rows."""
    stream, whole = (
        next(r for r in rows if r["step"] == step and r["size_mb"] == largest)
        for step in ("stream", "monitor_read")
    )
    diff = next(r for r in rows if r["step"] == "diff")
    # A poll holds the last snapshot's digests already: it reads the new
    # list, diffs it, and digests it for the next poll.
    poll = diff["read_second_seconds"] + diff["diff_seconds"] + diff["digests_seconds"]
    return [
        f"target peak RSS < {RSS_TARGET_MIB:.0f} MiB parsing the {largest} MB list: "
        f"{stream['peak_rss_mib']:.0f} MiB -> "
        + ("holds" if stream["peak_rss_mib"] < RSS_TARGET_MIB else "FAILS")
        + ("" if largest >= 120 else " (a smaller list than the target's 120 MB)")
        + f"; read as a poll reads it: {whole['peak_rss_mib']:.0f} MiB "
        + ("(under it)" if whole["peak_rss_mib"] < RSS_TARGET_MIB else "(over it)"),
        f"target diff of two {diff['size_mb']} MB snapshots < {DIFF_TARGET_SECONDS:.0f} s: "
        f"reading both, digests and diff {diff['seconds']:.2f} s -> "
        + ("holds" if diff["seconds"] < DIFF_TARGET_SECONDS else "FAILS")
        + f"; a poll's share (read the new one, digests, diff) {poll:.2f} s -> "
        + ("holds" if poll < DIFF_TARGET_SECONDS else "FAILS")
        + f"; digests and diff alone {diff['digests_seconds'] + diff['diff_seconds']:.2f} s",
    ]


if __name__ == "__main__":
    main()
