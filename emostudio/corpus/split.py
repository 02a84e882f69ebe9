"""Song-level train/val/test split (8:1:1), stratified, never splitting a song or a duplicate group.

Pieces are grouped by (source, song id); groups of different ids that hold the same music
(:data:`NEAR_DUPLICATE_GROUPS`, from the data README) are merged. Groups are visited in an order
shuffled by a fixed seed, largest first, and each goes to the split that most lacks what the
group brings: labelled clips per quadrant for labelled groups, pieces per source otherwise. So
every split gets labelled clips of every quadrant, in about 8:1:1 proportions.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence

SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
SPLIT_SEED = 909

#: different song ids that contain the same music (data README); each set stays in one split
NEAR_DUPLICATE_GROUPS: tuple[frozenset[tuple[str, str]], ...] = (
    frozenset({("emopia", "TNoaOTrTkTQ"), ("emopia", "bIx4DwkZxFY")}),
    frozenset({("emopia", "FoTXpYZXxJs"), ("emopia", "Ie5koh4qvJc"), ("emopia", "jO2zX6Ul8GM")}),
    frozenset({("emopia", "ZTrEoB8T9YA"), ("emopia", "k-FNDbK6Qhg")}),
    frozenset({("pop909", "017"), ("pop909", "018")}),
)


def group_key(source: str, song_id: str) -> tuple[str, str]:
    """The key of the group a song belongs to (its own, or the first of its duplicate group)."""
    for group in NEAR_DUPLICATE_GROUPS:
        if (source, song_id) in group:
            return min(group)
    return (source, song_id)


def assign_splits(
    sources: Sequence[str],
    song_ids: Sequence[str],
    quadrants: Sequence[int | None],
    seed: int = SPLIT_SEED,
    fractions: Sequence[float] = SPLIT_FRACTIONS,
) -> list[str]:
    """The split name of each piece (same order as the inputs)."""
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (source, song_id) in enumerate(zip(sources, song_ids)):
        members[group_key(source, song_id)].append(i)

    # what each group brings: ("Q", n) labelled clips of quadrant n, or ("source", name) pieces
    def strata(i: int) -> tuple[str, str]:
        q = quadrants[i]
        return ("quadrant", str(q)) if q is not None else ("source", sources[i])

    group_counts = {g: Counter(strata(i) for i in idx) for g, idx in members.items()}
    totals: Counter = Counter()
    for counts in group_counts.values():
        totals.update(counts)

    order = sorted(members)
    random.Random(seed).shuffle(order)
    # labelled groups first (they are what must be balanced), then bigger groups first
    order.sort(
        key=lambda g: (
            -sum(v for k, v in group_counts[g].items() if k[0] == "quadrant"),
            -len(members[g]),
        )
    )
    assigned: list[Counter] = [Counter() for _ in SPLITS]
    result = [""] * len(sources)
    for g in order:
        counts = group_counts[g]

        def need(s: int, counts: Counter = counts) -> float:
            # how far below its share this split is, in the strata this group brings
            return sum(
                n * (fractions[s] * totals[k] - assigned[s][k]) / totals[k]
                for k, n in counts.items()
            )

        best = max(range(len(SPLITS)), key=need)
        assigned[best].update(counts)
        for i in members[g]:
            result[i] = SPLITS[best]
    return result
