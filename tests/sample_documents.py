"""Documents for the writing tools' tests and benchmark, generated: a chronicle of invented
harbour towns, each paragraph about one town with its own name, year and numbers, so that
a summary's coverage can be traced to the paragraph each fact came from."""

from __future__ import annotations

import random

_TOWNS = [
    "Quillon",
    "Amberhavn",
    "Corrowick",
    "Dunmarra",
    "Estwold",
    "Farrowgate",
    "Glimmerby",
    "Harnfleet",
    "Ivelmoor",
    "Jessaport",
    "Kelderwyn",
    "Lathmere",
    "Morrowby",
    "Nettlecombe",
    "Orrinsholm",
    "Pellacourt",
    "Quarrendon",
    "Rushwater",
    "Saltmarrow",
    "Thistlebay",
    "Ulverstrand",
    "Vessingham",
    "Wrenhollow",
    "Yarrowdene",
    "Zennor",
]
_TRADES = ("salt", "amber", "wool", "timber", "herring", "copper", "slate", "linen", "rope")
_EVENTS = (
    "a storm destroyed half of the harbour wall",
    "the town council voted to build a lighthouse on the northern cliffs",
    "a fire in the rope works burned for three days",
    "the river silted up and ships had to anchor outside the bar",
    "a new road over the hills joined the town to the market at Kessel",
    "the fishermen formed a guild and fixed the price of herring",
    "a plague of rats ruined the winter stores of grain",
    "the old bridge collapsed under a cart loaded with slate",
)
_AFTER = (
    "The townspeople rebuilt what they had lost within {n} years.",
    "It took {n} years before trade returned to what it had been.",
    "The chronicle records {n} families leaving for the cities that year.",
    "The harbour master wrote {n} letters to the duke asking for help.",
)


def chronicle(paragraphs: int, seed: int = 7) -> str:
    """`paragraphs` paragraphs separated by blank lines, about 90 words each."""
    rng = random.Random(seed)
    parts = []
    for index in range(paragraphs):
        town = _TOWNS[index % len(_TOWNS)] + ("" if index < len(_TOWNS) else f" {index}")
        year = 1400 + index * 7
        trade, event = rng.choice(_TRADES), rng.choice(_EVENTS)
        people = rng.randint(300, 9000)
        after = rng.choice(_AFTER).format(n=rng.randint(2, 30))
        parts.append(
            f"In the year {year} the town of {town} had {people} inhabitants, and most of them "
            f"lived from the {trade} trade. That spring {event}. {after} The mayor of {town}, "
            f"whose name the chronicle gives as {rng.choice(_TOWNS)}-{rng.randint(1, 99)}, "
            f"kept a careful account of every ship that came to the quay and of every tax "
            f"that was paid, and those accounts survive in the archive to this day."
        )
    return "\n\n".join(parts)


def short_paragraphs(count: int) -> str:
    """`count` one-sentence paragraphs, separated by blank lines: quick to translate."""
    return "\n\n".join(
        f"The ship from {_TOWNS[i % len(_TOWNS)]} reached the harbour on day {i + 1}."
        if i % 3 == 0
        else f"The mayor of {_TOWNS[i % len(_TOWNS)]} counted {i + 3} barrels of salt."
        for i in range(count)
    )
