"""Hand-written hard cases for the decision rule: copies that must match, and look-alikes that must not.

Each case runs the whole pure path (cleaning, shingles, MinHash, LSH bands, verification) with the
default settings; the Redis index applies the same rule (see tests/integration/test_index.py).
"""

from __future__ import annotations

import pytest

from streams.cleaning import canonical_url, clean_article
from streams.dedup import index_config
from streams.fingerprint import Fingerprint, Match, fingerprint, shares_a_band, verify
from streams.settings import Settings

SETTINGS = Settings()
PARAMS = SETTINGS.fingerprint_params()
RULE = index_config(SETTINGS).rule

WIRE = """Harbour City approves the largest flood barrier in its history

Harbour City's council voted on Tuesday to build a 4.2-kilometre flood barrier along the old docks, the
largest civil engineering project the port has attempted since the 1950s.

• The barrier will cost £310 million and take six years to complete.
• Around 18,000 homes in the low-lying Eastgate district will be protected.
• Work is due to start next spring, subject to a final environmental review.

Why it matters: Eastgate has flooded four times in the past decade, and insurers have warned that cover
for the district could become unaffordable. Council leader Priya Ramaswamy said the vote was "the most
important decision this chamber will take in a generation".

Opponents argued that the barrier would cut the historic waterfront off from the sea and damage the
fishing fleet that still works out of the inner basin. A petition against the design gathered more than
9,000 signatures, and the harbour master warned that tidal currents at the narrow entrance could become
dangerous for small boats.

The engineering firm Calder & Moss, which drew up the plans, said movable gates would stay open on all but
the highest tides. Its chief engineer, Tomasz Wieczorek, told councillors the gates had been modelled on
similar schemes in Rotterdam and on the Thames estuary.

What's next: the government must still approve a loan covering half the cost. Ministers are expected to
decide before the end of the year, after a public consultation that opens next month."""

SPUN = """Like this story? Get more from Coastline Daily and subscribe free!

Harbour City approves the biggest flood wall in its history

Harbour City's council voted on Tuesday to construct a 4.2-kilometre flood barrier along the old docks,
the biggest civil engineering scheme the port has attempted since the 1950s.

- The barrier will cost £310 million and take six years to finish.
- Around 18,000 homes in the low-lying Eastgate district will be shielded.
- Work is expected to begin next spring, subject to a final environmental review.

Why is this important: Eastgate has flooded four times in the past decade, and insurers have cautioned
that cover for the district could become unaffordable. Council chief Priya Ramaswamy stated the vote was
â€œthe most important decision this chamber will take in a generationâ€.

Critics argued that the barrier would cut the historic waterfront off from the sea and harm the fishing
fleet that still operates out of the inner basin. A petition against the design collected more than
9,000 signatures, and the harbour master cautioned that tidal currents at the narrow entrance could
become perilous for small boats.

The engineering company Calder & Moss, which drew up the plans, said movable gates would remain open on
all but the highest tides. Its lead engineer, Tomasz Wieczorek, told councillors the gates had been
modelled on comparable schemes in Rotterdam and on the Thames estuary.

What comes next: the government must still approve a loan covering half the price. Ministers are
anticipated to decide before the end of the year, after a public consultation that opens next month.

Share this story on Facebook and X. © 2026 Coastline Daily."""

EDITED = WIRE.replace("£310 million", "£325 million").replace(
    "What's next: the government must still approve a loan covering half the cost.",
    "Update: the treasury confirmed on Wednesday that it has received the council's loan application, "
    "and officials said a decision on the loan could come within weeks.\n\nWhat's next: the government "
    "must still approve a loan covering half the cost.",
)
EXCERPT = "\n\n".join(WIRE.split("\n\n")[:3]) + "\n\nRead more at harbourcitynews.example"

# The same event, reported independently: same names, places and numbers, different sentences.
SAME_EVENT = """Flood wall gets green light as Eastgate residents count the cost of waiting

Councillors in Harbour City have backed plans for a £310 million barrier to protect about 18,000 homes,
ending years of argument over how to defend Eastgate from the sea.

Residents who packed the public gallery applauded when the result was read out. Many of them have spent
thousands of pounds drying out their houses after the floods that struck in four of the last ten winters.
"My kitchen has been rebuilt twice," said one retired teacher, who asked not to be named.

Priya Ramaswamy, who leads the council, spent most of the debate defending the project against claims
that it would ruin the views from the old docks. Fishermen from the inner basin staged a small protest
outside the town hall before the meeting, holding banners that read "Keep the harbour open".

The design by Calder & Moss uses gates that can swing shut during storms. Tomasz Wieczorek, the firm's
chief engineer, has previously worked on defences in the Netherlands. Construction would last six years
and the 4.2-kilometre structure would be finished before the end of the decade if ministers agree to lend
the money.

Local business owners were divided. A café owner on the waterfront said the barrier would bring building
workers and trade; a boat-hire company said it feared losing its summer customers."""

UNRELATED = """Regional rail operator orders forty new electric trains

The operator of the northern commuter network has ordered forty battery-electric trains from a factory
in Derby, replacing diesel units that have run on the coastal line since the 1980s. The trains will enter
service over three years and cut journey times between the main cities by up to twelve minutes.

The managing director said the purchase was the largest in the company's history and would allow it to
add late evening services that passengers have requested for years. Unions welcomed the order but asked
for guarantees that maintenance work would stay at the existing depots.

Environmental groups said the switch would remove thousands of tonnes of emissions a year, though they
urged the government to electrify the remaining stretches of track instead of relying on batteries."""


def fp(
    text: str, url: str = "https://harbourcitynews.example/flood-barrier"
) -> tuple[Fingerprint, bytes, int]:
    cleaned = clean_article(title="", text=text, html=None, max_chars=SETTINGS.max_text_chars)
    f = fingerprint(cleaned.text, url, PARAMS)
    return f, f.compact_signature(), f.shingle_count


def rule(a: str, b: str) -> Match | None:
    fa, _, _ = fp(a)
    fb, sb, nb = fp(b)
    if not shares_a_band(fa, fb):
        return None
    return verify(fa, sb, fb.compact_lead(), nb, RULE)


@pytest.mark.parametrize(
    ("name", "copy"),
    [("spun with mojibake and a new publisher", SPUN), ("edited", EDITED), ("excerpt", EXCERPT)],
)
def test_copies_of_the_wire_story_are_duplicates(name: str, copy: str):
    """Spun, edited and excerpted copies are found by LSH and pass verification."""
    assert rule(copy, WIRE) is not None, name


def test_an_excerpt_matches_by_containment():
    """An excerpt's Jaccard with the full story is low; containment is what catches it."""
    match = rule(EXCERPT, WIRE)
    assert match is not None
    assert match.measure in ("containment", "lead_containment")
    assert match.jaccard < SETTINGS.jaccard_threshold


def test_the_same_event_reported_independently_is_not_a_duplicate():
    """Shared names, places and numbers without shared sentences do not make a copy."""
    assert rule(SAME_EVENT, WIRE) is None
    assert rule(SAME_EVENT, SPUN) is None


def test_an_unrelated_story_is_not_a_duplicate():
    """A different story shares no band with the wire story."""
    assert rule(UNRELATED, WIRE) is None


def test_a_recrawl_with_tracking_parameters_has_the_same_url_key():
    """The URL key ignores tracking parameters, fragments and host case."""
    original = fp(WIRE, "https://harbourcitynews.example/flood-barrier")[0]
    recrawl = fp(WIRE, "https://HarbourCityNews.example/flood-barrier?utm_source=x&fbclid=abc#comments")[0]
    assert original.url_key == recrawl.url_key
    assert canonical_url("https://harbourcitynews.example/flood-barrier?gclid=1") == (
        "https://harbourcitynews.example/flood-barrier"
    )


def test_a_copy_with_other_promo_lines_has_the_same_exact_key():
    """Syndicated copies differ only in promo lines, which cleaning removes: the exact key is equal."""
    syndicated = "Subscribe to the Valley Courier newsletter!\n\n" + WIRE + "\n\n© 2026 Valley Courier Ltd."
    assert fp(syndicated)[0].exact_key == fp(WIRE)[0].exact_key


# The seed pair's kind of damage: each ’ “ ” lost all but its first byte read as Windows-1252 (â).
LOSSY = WIRE.replace("'", "â").replace('"', "â")


def test_lossy_mojibake_leaves_no_glued_words():
    """`Cityâs` and `âthe most` become `City's` and `the most`: the words around them are words again."""
    text = clean_article(title="", text=LOSSY, html=None, max_chars=100_000).text
    assert "City's council" in text
    assert "â" not in text
    words = text.split()
    assert "the most important decision" in " ".join(words)
    assert "generation" in words


def test_a_lossy_copy_shares_the_originals_shingles():
    """With the lone leads neutralised the lossy copy's shingles are the original's."""
    assert fp(LOSSY)[1] == fp(WIRE)[1]
    assert rule(LOSSY, WIRE) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Le château de Versailles accueille le gâteau des rois; un dégât à l'âge d'or, près du théâtre.",
        "A câmara de São Paulo aprovou a lâmpada; ÂNGULO e âmbito não mudam, disse o português.",
        "L'âge d'or",
        "România: mâine, când",
    ],
)
def test_letters_of_languages_that_use_them_are_kept(text: str):
    """French â, Portuguese ã/Ã/Â, Romanian â: left as they are."""
    assert clean_article(title="", text=text, html=None, max_chars=10_000).text == text
