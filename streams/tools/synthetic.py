"""Synthetic English news articles and their copies, for tests, benchmarks and the bundled sample.

Everything here is pure and deterministic: every function takes a seeded :class:`random.Random`
(or a seed) and there is no module-level mutable state, so the same seed always yields the same
articles. Stories are composed from a combinatorial phrase bank: template sentences with slots for
named entities (people, organisations, places, numbers, dates) and inline word alternatives.

Template syntax: ``{SLOT}`` is replaced with an entity of the story, ``[a|b|c]`` with one of the
alternatives (an alternative may itself hold slots, and may be empty).

Run ``python -m streams.tools.synthetic`` from the project root to rewrite the bundled sample
``streams/data/sample_articles.jsonl`` (about 120 articles, seed 2026).
"""

from __future__ import annotations

import html as html_lib
import json
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

# fmt: off
__all__ = [
    "ALL_COPY_KINDS", "COPY_MAKERS", "LABEL_KINDS", "PHRASES", "SAMPLE_PATH", "SYNONYMS", "TEMPLATE_COUNT",
    "TOPICS", "Article", "CopyMaker", "SiteTemplate", "Story", "article_body", "copy_edited", "copy_exact",
    "copy_excerpt", "copy_html", "copy_mojibake", "copy_recrawl", "copy_spun", "copy_syndicated",
    "generate_story", "generate_stream", "jaccard", "main", "make_copy", "make_entities", "make_original",
    "make_same_event", "make_site_template", "mojibake", "promo_lines", "render_page",
    "render_template_page", "same_event_story", "same_template_stream", "sample_articles", "spin_text",
    "story_from_article", "template_page_text", "word_ngrams", "write_jsonl",
]
# fmt: on

#: One record: ``id``, ``url``, ``title``, ``text`` or ``html``, ``source``, ``published_at``,
#: ``label_cluster`` and ``label_kind``.
Article = dict[str, Any]

# --------------------------------------------------------------------------------------------------
# Template engine
# --------------------------------------------------------------------------------------------------

_TOKEN: Final = re.compile(r"\{([A-Z0-9_]+)\}|\[([^\[\]]*)\]")
_LITERAL, _WORD_CHOICE, _SLOT, _CHOICE = 0, 1, 2, 3

# A compiled template is a tuple of (kind, value) parts: a literal string, a tuple of literal
# alternatives, a slot name, or a tuple of compiled alternatives (when an alternative holds a slot).
_Part = tuple[int, Any]
_Compiled = tuple[_Part, ...]


def _compile(template: str) -> _Compiled:
    """Parse one template into literal, choice and slot parts.

    Args:
        template: Text with ``{SLOT}`` and ``[a|b]`` markers.

    Returns:
        The parts, in order.
    """
    parts: list[_Part] = []
    pos = 0
    for match in _TOKEN.finditer(template):
        if match.start() > pos:
            parts.append((_LITERAL, template[pos : match.start()]))
        if match.group(1) is not None:
            parts.append((_SLOT, match.group(1)))
        else:
            alternatives = match.group(2).split("|")
            if any("{" in alt for alt in alternatives):
                parts.append((_CHOICE, tuple(_compile(alt) for alt in alternatives)))
            else:
                parts.append((_WORD_CHOICE, tuple(alternatives)))
        pos = match.end()
    if pos < len(template):
        parts.append((_LITERAL, template[pos:]))
    return _merge(parts)


_MAX_MERGED: Final = 200


def _merge(parts: list[_Part]) -> _Compiled:
    """Fold literals into neighbouring word choices and merge adjacent choices (same distribution).

    ``the [big|large] [plan|deal]`` becomes one choice of four alternatives, so rendering makes one
    random draw instead of two and loops over fewer parts.

    Args:
        parts: Parsed parts.

    Returns:
        The equivalent, shorter parts.
    """
    merged: list[_Part] = []
    for kind, value in parts:
        alternatives = (value,) if kind == _LITERAL else value if kind == _WORD_CHOICE else None
        if alternatives is not None and merged and merged[-1][0] in (_LITERAL, _WORD_CHOICE):
            previous = merged[-1][1] if merged[-1][0] == _WORD_CHOICE else (merged[-1][1],)
            if len(previous) * len(alternatives) <= _MAX_MERGED:
                product = tuple(a + b for a in previous for b in alternatives)
                merged[-1] = (_LITERAL, product[0]) if len(product) == 1 else (_WORD_CHOICE, product)
                continue
        merged.append((kind, value))
    return tuple(
        (kind, _normalise(value))
        if kind == _LITERAL
        else (kind, tuple(_normalise(alt) for alt in value))
        if kind == _WORD_CHOICE
        else (kind, value)
        for kind, value in merged
    )


def _normalise(text: str) -> str:
    """Fix spacing and a/an inside one merged alternative (its edges are checked by ``_flags``)."""
    return _fix_articles(_SPACING.sub("", text))


def _render(parts: _Compiled, rng: random.Random, ents: Mapping[str, str]) -> str:
    """Fill a compiled template.

    Args:
        parts: A compiled template.
        rng: The random source for the choices.
        ents: Slot values.

    Returns:
        The raw text (spacing not yet tidied).
    """
    rand = rng.random
    return "".join(
        [
            value
            if kind == _LITERAL
            else value[int(rand() * len(value))]
            if kind == _WORD_CHOICE
            else ents[value]
            if kind == _SLOT
            else _render(value[int(rand() * len(value))], rng, ents)
            for kind, value in parts
        ]
    )


_SPACING: Final = re.compile(r" (?= )| +(?=[,.;:!?”])")

_A_BEFORE_VOWEL: Final = re.compile(r"\b([Aa]) (?=[aeiouAEIOU8]|1[18]\b|1[18],)([\w$’,]+)")
_AN_BEFORE_CONSONANT: Final = re.compile(
    r"\b([Aa])n (?!hour|honest|heir|honou)(?=[b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z$]|[02-79]|1[02-79]|1[18]\d)"
)
_CONSONANT_SOUND: Final = ("one", "uni", "use", "usu", "eu", "Eu", "Uni", "Euro")


def _an(match: re.Match[str]) -> str:
    """``an`` before a vowel sound, ``a`` before words such as ``one`` and ``union``."""
    article, word = match.group(1), match.group(2)
    return f"{article} {word}" if word.startswith(_CONSONANT_SOUND) else f"{article}n {word}"


def _fix_articles(text: str) -> str:
    """``a`` before consonant sounds and ``an`` before vowel sounds."""
    if " a " in text or " A " in text or text.startswith(("a ", "A ")):
        text = _A_BEFORE_VOWEL.sub(_an, text)
    if " an " in text or text.startswith(("an ", "An ")):
        text = _AN_BEFORE_CONSONANT.sub(r"\1 ", text)
    return text


_SPACE_FLAG, _ARTICLE_FLAG, _CASE_FLAG = 1, 2, 4
_BAD_SPACE: Final = re.compile(r" (?= )| (?=[,.;:!?”])")
_ARTICLE_TAIL: Final = re.compile(r"(?:^|[^\w’])[Aa]n? ?$")


def _flags(parts: _Compiled) -> int:
    """Which repairs a compiled template's output can need, decided once from its parts.

    Spacing and a/an inside one part are already repaired at compile time; only the joins between
    parts (and slot values, which never start or end with a space) are left. The result has
    ``_SPACE_FLAG`` when a join can double a space or put one before punctuation, and ``_ARTICLE_FLAG``
    when an ``a`` or ``an`` can end a part; ``_CASE_FLAG`` unless the text surely starts with a capital.

    Args:
        parts: A compiled template.

    Returns:
        The flags.
    """

    def surfaces(kind: int, value: Any) -> tuple[str, ...]:
        if kind == _LITERAL:
            return (value,)
        if kind == _WORD_CHOICE:
            return tuple(value)
        if kind == _SLOT:
            return ("x",)  # a value: never empty or space-padded, maybe lower case
        return tuple("".join(surfaces(k, v)[0] for k, v in sub) for sub in value)

    flags = 0
    tails = {""}
    for kind, value in parts:
        alternatives = surfaces(kind, value)
        if any(_ARTICLE_TAIL.search(tail) for tail in tails if tail):
            flags |= _ARTICLE_FLAG
        for tail in tails:
            for alternative in alternatives:
                if _BAD_SPACE.search(tail[-1:] + alternative[:1]) or (not tail and alternative[:1] == " "):
                    flags |= _SPACE_FLAG
        tails = {(tail + alternative)[-4:] for tail in tails for alternative in alternatives}
    if any(tail.endswith(" ") for tail in tails) or any(_ARTICLE_TAIL.search(t) for t in tails if t):
        flags |= _SPACE_FLAG | _ARTICLE_FLAG
    openings = surfaces(*parts[0]) if parts else ("",)
    if not all(opening.removeprefix("“")[:1].isupper() for opening in openings):
        flags |= _CASE_FLAG
    return flags


def _tidy(text: str, flags: int = _SPACE_FLAG | _ARTICLE_FLAG | _CASE_FLAG) -> str:
    """Repair a rendered template: spacing, a/an (as ``flags`` ask) and the first letter's case.

    Args:
        text: A rendered template.
        flags: Which repairs may be needed (see :func:`_flags`).

    Returns:
        The tidy text.
    """
    if flags & _SPACE_FLAG:
        text = _SPACING.sub("", text).strip()
    if flags & _ARTICLE_FLAG:
        text = _fix_articles(text)
    first = text[:1]
    if first.isalpha():
        return text if first.isupper() else first.upper() + text[1:]
    for i, char in enumerate(text):
        if char.isalpha():
            return text[:i] + char.upper() + text[i + 1 :] if char.islower() else text
        if char not in "“\"‘'(• —-":
            break
    return text


def _fill(template: _Compiled, rng: random.Random, ents: Mapping[str, str]) -> str:
    """Render and tidy one template."""
    return _tidy(_render(template, rng, ents))


def _lines(block: str) -> tuple[str, ...]:
    """The templates of a block: each starts with ``> ``; indented lines continue it after a space."""
    return tuple(" ".join(item.split()) for item in block.split("\n    > ")[1:] if item.strip())


def _words(block: str) -> tuple[str, ...]:
    """Whitespace-separated words of a block; ``_`` stands for a space inside one entry."""
    return tuple(word.replace("_", " ") for word in block.split())


# --------------------------------------------------------------------------------------------------
# Names, places, publishers
# --------------------------------------------------------------------------------------------------

FIRST_NAMES: Final = _words(
    """Maria James Aisha Tomasz Priya Daniel Lena Kwame Sofia Mateo Hannah Yusuf Elena Oliver Mei Rafael
    Chloe Ibrahim Nadia Lucas Grace Arjun Isabel Noah Fatima Henrik Olivia Diego Amara Samuel Ingrid Kenji
    Leila Patrick Rosa Viktor Zoe Marcus Anika Tobias Clara Emeka Julia Felix Naomi Adrian Sara Omar
    Beatriz Jonas Helen Ravi Camille Dmitri Alice Thabo Eva Nikolai Lucia Hugo"""
)
LAST_NAMES: Final = _words(
    """Okafor Lindqvist Moreau Castellano Nakamura Brennan Adeyemi Kowalski Haddad Petrov Fischer Alvarez
    O’Connor Mensah Varga Sorensen Iyer Delacroix Whitfield Tanaka Rahman Novak Quintero Abernathy Salo
    Carvalho Ferreira Hollis Jankowski Mbeki Oyelaran Pereira Rasmussen Schultz Takahashi Underwood Vance
    Wojcik Yilmaz Zimmerman Achebe Bergstrom Chaudhry Dunmore Esposito Fairbanks Gallagher Horvath Ivanova
    Jensen Kavanagh Larsen Marchetti Nwosu Ortega Pacheco Quist Rowntree Santoro Thorne Ulrich Valdez
    Whitaker Xavier Yamamoto Zeller Ashford Blackwood Corrigan Dragomir Ekwueme Falkner Grieve Hartmann
    Ilunga Joubert Kessler"""
)
CITIES: Final = _words(
    """Lisbon Denver Rotterdam Nairobi Osaka Glasgow Porto Montreal Seville Leipzig Adelaide Gdansk Tampere
    Accra Valencia Bristol Lyon Calgary Turin Bergen Wellington Krakow Pittsburgh Marseille Antwerp Durban
    Halifax Bologna Tucson Cork Aarhus Brno Galway Nantes Malmo Graz Haifa Perth Ottawa Limassol"""
)
COUNTRIES: Final = _words(
    """Portugal Canada Kenya Japan Scotland Spain Germany Australia Poland Ghana Norway Italy Finland
    Ireland Denmark Austria Chile Brazil Sweden Belgium the_Netherlands New_Zealand South_Africa Mexico"""
)
_SURNAME_ORGS: Final = _words(
    """Halvorsen Brightwater Keystone Northmere Calloway Vantor Redfield Ostrava Pellham Marlow Sandoval
    Tidewater Ironbridge Quillon Westbrook Ambrose Larkspur Greyhaven Corvel Easterly Sablewood Meridian
    Fenwick Auberon Kestrel Harrowgate Pinecrest Solvent Talbridge Vireo"""
)
_MASCOTS: Final = _words(
    "Falcons Rovers Mariners Wolves Comets Harriers Lions Pilots Rangers Stags Vipers Kings Herons Titans"
)
BANKS: Final = _words(
    """Harcourt_Securities Blue_Anchor_Research Lindell_&_Pryce Eastgate_Capital Moorfield_Partners
    Arden_Bank Coldstream_Advisory"""
)
_SITE_A: Final = _words("daily morning evening metro coastal valley national city northern global capital")
_SITE_B: Final = _words("herald ledger tribune post gazette courier chronicle observer dispatch times record")
_MEDIA: Final = _words("Example Harbor Summit Lantern Beacon Meridian Crescent Northstar Riverbend Keystone")
WEEKDAYS: Final = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")
MONTHS: Final = _words(
    "January February March April May June July August September October November December"
)


def random_site(rng: random.Random) -> str:
    """A publisher domain such as ``dailyherald.example``.

    Args:
        rng: The random source.

    Returns:
        The domain.
    """
    return f"{rng.choice(_SITE_A)}{rng.choice(_SITE_B)}.example"


def _publisher_name(rng: random.Random) -> str:
    """A publisher's display name such as ``Harbor Example Media``."""
    name = rng.choice(_MEDIA)
    return "Example Media" if name == "Example" else f"{name} Media"


# --------------------------------------------------------------------------------------------------
# Topics: entity recipes, titles, ledes and topic-specific sentences
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Topic:
    """How to build a topic's entities (its templates live in the shared bank's pools)."""

    name: str
    org: tuple[_Compiled, ...]
    thing: tuple[tuple[_Compiled, _Compiled], ...]
    extra: tuple[str, ...]
    unit: tuple[str, ...]
    roles: tuple[tuple[_Compiled, ...], ...]
    money: tuple[str, ...]


# fmt: off
_TOPIC_DATA: Final[dict[str, dict[str, Any]]] = {
    "business": {
        "org": ("{SUR} [Logistics|Holdings|Foods|Energy|Capital|Retail|Motors|Telecom|Airlines|Insurance]",),
        "thing": (
            "the [proposed|planned] takeover of {ORG2}::the [deal|takeover|acquisition]",
            "[its|the company’s] [new|revamped|three-year] cost-cutting plan::the [plan|programme|cuts]",
            "the [planned|long-delayed] expansion into {COUNTRY}::the [expansion|push|move]",
            "the sale of its {X} [unit|division|business]::the [sale|disposal|deal]",
            "a [fresh|new|record] share buyback::the [buyback|programme|plan]",
        ),
        "extra": ("consumer", "freight", "pharmacy", "payments", "battery", "packaging", "catering"),
        "unit": ("employees", "customers", "shareholders", "suppliers"),
        "roles": (
            ("chief executive of {ORG}", "[chief financial officer|finance chief] of {ORG}",
             "president of {ORG}"),
            ("an analyst at {BANK}", "a [retail|consumer|transport] analyst at {BANK}"),
            ("a [longtime|veteran] supplier based in {CITY}", "a union representative in {CITY}",
             "a small shareholder from {CITY}"),
        ),
        "money": ("billion", "billion", "million"),
        "titles": (
            "{ORG} [unveils|announces|confirms] {THING} as [profits|sales|margins] [slide|climb|stall]",
            "{ORG} [bets|wagers] {N1} on {THING}",
            "[Investors|Shareholders] [cheer|question|weigh] {THING} at {ORG}",
            "{ORG} [chief|boss] {P1L} [defends|doubles down on|pushes ahead with] {THING}",
            "{ORG} [targets|eyes] {N2} [growth|savings] by {YEAR} [with|after] {THING}",
        ),
        "ledes": (
            "{ORG} [announced|unveiled|confirmed] {THING} on {DAY}, [a move|a decision|a step] [valued "
            "at|worth|"
            "priced at] {N1} that [could|would|may] [reshape|shake up|redraw] the {X} "
            "[market|industry|sector].",
            "Shares of {ORG} [rose|jumped|fell|slid] {N2} in [early|late|afternoon] trading on {DAY} after "
            "the "
            "[company|group] [disclosed|revealed|outlined] [details of|plans for] {THING}.",
            "{P1}, {R1}, [said on|told investors on|confirmed on] {DAY} that the [company|group|firm] "
            "[would|will]"
            " [press ahead with|push forward with|commit to] {THING} [despite|in spite of] [a|the] "
            "[weaker|softer|"
            "choppy] [outlook|quarter|market].",
            "In [its|the] [largest|biggest|boldest] [deal|bet|gamble] [in years|in a decade|to date], {ORG} "
            "[said|"
            "announced] it [would|will] [spend {N1} on|invest {N1} in|put {N1} into] {THING}.",
        ),
        "details": (
            "The {X} [business|unit|division] [accounts for|makes up|generates] [about|roughly|nearly] {N2} "
            "of "
            "[group|total|annual] [revenue|sales], [according to|based on] [the company’s|its] [latest|most "
            "recent] [annual report|filings|accounts].",
            "[Quarterly|Half-year|Annual] [revenue|sales|earnings] at {ORG} [came in at|reached|totalled] "
            "{M2}, "
            "[slightly|well|just] [above|below|short of] [what analysts had forecast|market expectations|"
            "the consensus estimate].",
            "[Investors|Traders|Fund managers] have [long|repeatedly|for months] [pushed|lobbied|pressed] "
            "{ORG} "
            "to [simplify|streamline|slim down] [its|a] [sprawling|complex|crowded] [portfolio|structure|"
            "business] [and return cash|and cut debt|].",
            "[Debt|Borrowing|Net debt] at the [group|company] [has|had] [climbed|risen|swollen] to {M2}, "
            "[leaving|giving] [it|management] [little|limited|less] [room|headroom] for [mistakes|error|"
            "surprises].",
            "{ORG} [also|separately|in addition] [raised|lowered|reaffirmed] its [full-year|annual|"
            "{YEAR}] [guidance|forecast|outlook], [citing|pointing to|blaming] [shipping costs|currency "
            "swings|weak demand] in {COUNTRY}.",
            "The [company|group|firm] [said|expects|estimated] [the|that the] [deal|plan|move] [would|will] "
            "[generate|deliver|unlock] [annual|yearly] [savings|synergies] of [about|around|at least] {N1} "
            "by {YEAR}.",
            "[Competition|Rivalry|Price pressure] in the {X} [market|sector|space] has [intensified|sharpened"
            "|heated up] [since|after|as] {ORG2} [cut prices|entered the market|expanded into {CITY}] in "
            "{PYEAR}.",
            "[Credit rating agencies|Bondholders|Lenders] [are|were] [watching|monitoring|studying] [the|"
            "its] [cash flow|balance sheet|spending] [closely|carefully], [analysts|bankers] [said|noted].",
            "[Staff|Workers|Employees] at [the|its] {CITY} [warehouse|plant|headquarters|site] [were|had "
            "been]"
            " [told|briefed|informed] [about|of] {THING} [in a town hall|at an internal meeting|by email] "
            "on {DAY}.",
            "The [stock|share price] [has|had] [gained|lost|added|shed] {N2} [so far|since January|over "
            "the past twelve months], [compared with|against|versus] a [broader|wider] [market|index] [gain"
            "|rise|move] of {N4} percent.",
            "[Regulators|Competition authorities|Antitrust officials] in {COUNTRY} [are expected to|will|"
            "may] [review|scrutinise|examine] {THING}, [a process|a review|which] that [could|can|may] "
            "[take|last] {N4} months.",
            "{ORG} [operates|runs|manages] [about|roughly|some] {N3} [stores|sites|outlets|depots] and "
            "[serves|supplies] [customers|clients] in {N4} [countries|markets].",
        ),
    },
    "politics": {
        "org": ("the [Progressive|National|Liberal|Social|Civic|Green|Reform] [Alliance|Party|Union|Front]",
                "the Ministry of [Finance|Transport|Health|Housing|Education]"),
        "thing": (
            "the [proposed|controversial|flagship] {X} bill::the [bill|legislation|measure]",
            "a [sweeping|long-awaited|contested] overhaul of {X} rules::the [overhaul|reform|package]",
            "the [new|revised|emergency] {X} budget::the [budget|spending plan|package]",
            "a [snap|nationwide|regional] referendum on {X} reform::the [referendum|vote|ballot]",
        ),
        "extra": ("housing", "pension", "immigration", "transport", "energy", "health care", "tax",
                  "education", "policing", "water"),
        "unit": ("voters", "households", "residents", "taxpayers"),
        "roles": (
            ("the [minister|secretary] for {X}", "leader of {ORG}", "[governor|mayor] of {CITY}"),
            ("[an opposition lawmaker|a senior opposition figure|a backbench lawmaker] from {CITY2}",
             "a political scientist at the University of {CITY2}"),
            ("a [retired teacher|nurse|shop owner|bus driver] in {CITY}", "a [voter|resident] from {CITY}"),
        ),
        "money": ("billion", "million"),
        "titles": (
            "{P1L} [pushes|forces|steers] {THING} through [parliament|the assembly|a tense vote]",
            "[Parliament|The assembly|The senate] [backs|rejects|delays] {THING} after "
            "[marathon|heated|late-night]"
            " debate",
            "{ORG} [splits|unites|rallies] over {THING}",
            "{THING} [faces|survives|clears] [key|first|crucial] test in {CITY}",
            "What {THING} [means|would mean] for {N3} {UNIT}",
        ),
        "ledes": (
            "[Lawmakers|Legislators|Members of parliament] [voted|narrowly voted] {N6} to {N5} on {DAY} to "
            "[approve|advance|send back] {THING}, [handing|dealing] {P1} [a|an] [major|unexpected|narrow] "
            "[victory|setback].",
            "{P1}, {R1}, [said on|told reporters on|announced on] {DAY} that {THING} [would|will] [go to a "
            "vote|"
            "be tabled|be published] [before|by|no later than] {DATE}.",
            "[The government|Ministers|The cabinet] [unveiled|published|set out] {THING} on {DAY}, "
            "[promising|"
            "pledging] {N1} [over|across] {N4} years [to ease|to tackle|to address] [pressure on|concerns "
            "about|shortages in] {X} [in|across] {COUNTRY}.",
            "[A|The] [bitter|long-running|heated] [row|fight|dispute] over {THING} "
            "[deepened|escalated|flared]"
            " on {DAY} [as|after|when] {P2L} accused {ORG} of [rushing|mishandling|botching] "
            "the "
            "[process|plan|rollout].",
        ),
        "details": (
            "[Polls suggest|Surveys show|Recent polling indicates] [that|] {N2} of {UNIT} [back|support|"
            "oppose] {THING}, with [support|opposition] [strongest|highest] among [younger|older|"
            "rural|urban] [voters|residents].",
            "[The|A] [cross-party|parliamentary|budget] [committee|panel|office] [estimated|projected|warned]"
            " [that|] {THING} [would|could] [cost|save] {N1} [over|within] [five|ten|{N4}] years.",
            "{ORG} [holds|controls|has] {N5} of the {N6} seats [in|of] the [chamber|assembly|parliament], "
            "[leaving it with|giving it] [a thin|a slim|only a narrow] [majority|margin|cushion].",
            "[Opposition|Rival] [parties|leaders|groups] [have|] [promised|vowed|threatened] to [repeal|"
            "challenge|amend] {THING} [if they win|after|in] the [next|coming] [election|vote] in {YEAR}.",
            "[Campaigners|Advocacy groups|Unions] [in|from] {CITY} [said|argued|warned] [the|that the] "
            "[plan|bill|measure] [did not go far enough|went too far|ignored {UNIT}].",
            "The {X} [minister|department|ministry] [has|had] [promised|pledged|committed] to [publish|"
            "release] [an impact assessment|a full costing|an independent review] [by|before] {DATE}.",
            "[Turnout|Participation|Attendance] in the [latest|last] [local|regional|municipal] [elections|"
            "vote|ballot] in {CITY} [was|stood at] {N9}, the [lowest|highest] since {PYEAR}.",
            "[Legal experts|Constitutional scholars|Lawyers] [said|warned|cautioned] [that|] {THING} [could|"
            "may|might] [face|draw] [a court challenge|legal challenges|lawsuits] [from|by] [regional|"
            "local] [authorities|governments|councils].",
            "{P1L} [has|had] [staked|pinned|bet] [much of|a large part of|a share of] [the party’s|the "
            "government’s] [political capital|credibility|agenda] on {THING}, [aides|allies|advisers] "
            "[say|said|acknowledge].",
            "[Talks|Negotiations|Discussions] [between|among] [coalition partners|the parties|party leaders] "
            "[broke down|stalled|resumed] [late|early] on {DAY2} [over|because of] [funding|the timetable|"
            "the wording].",
            "[Protesters|Demonstrators|Activists] [gathered|marched|rallied] [outside|near|in front of] the "
            "[parliament|assembly|ministry] in {CITY} [carrying|holding|waving] [banners|signs|flags].",
            "[Regional|Local|Municipal] [leaders|governments|councils] [will|would] [receive|get|share] "
            "[about|roughly|up to] {M2} [under|through] [the|the new] [plan|formula|settlement].",
        ),
    },
    "technology": {
        "org": ("{SUR} [Labs|Systems|Robotics|Networks|Software|AI|Semiconductor|Cloud|Devices]",),
        "thing": (
            "its [new|latest|next-generation] {X} [chip|platform|service]::the [product|launch|system]",
            "a [redesigned|new|subscription] {X} app::the [app|service|product]",
            "the [global|phased|delayed] rollout of its {X} network::the [rollout|network|project]",
            "an [open-source|in-house|experimental] {X} model::the [model|system|release]",
        ),
        "extra": ("AI", "quantum", "satellite", "battery", "privacy", "cloud", "streaming", "payments",
                  "mapping", "translation"),
        "unit": ("users", "developers", "subscribers", "customers"),
        "roles": (
            ("chief executive of {ORG}", "{ORG}’s head of product", "chief technology officer at {ORG}"),
            ("an analyst at {BANK}", "a researcher who studies {X} systems at the University of {CITY2}"),
            ("a software developer in {CITY}", "an early tester from {CITY}",
             "a [teacher|designer] in {CITY}"),
        ),
        "money": ("billion", "million"),
        "titles": (
            "{ORG} [launches|unveils|debuts] {THING}",
            "{ORG} [delays|pauses|scales back] {THING} [amid|after] [glitches|privacy concerns|weak demand]",
            "[Inside|Behind] {ORG}’s [race|push|rush] to [ship|build|launch] {THING}",
            "{ORG}’s {X} [launch|push|service]: {N3} {UNIT} [sign up|join|switch] in first {N4} days",
            "[Regulators|Lawmakers] [probe|question|scrutinise] {ORG} over {THING}",
        ),
        "ledes": (
            "{ORG} [unveiled|launched|introduced] {THING} on {DAY}, [promising|claiming] it [would|will|can] "
            "[run|work|perform] {N4} times [faster|more efficiently] than [its predecessor|rival "
            "products|the "
            "previous version].",
            "{ORG} [said on|confirmed on|announced on] {DAY} that {THING} [had|has] [reached|passed|crossed] "
            "{N3} {UNIT} [within|in] [its first|just] {N4} [weeks|days|months].",
            "[A|The] [glitch|outage|bug] [in|affecting] {THING} [left|locked out|disrupted] [thousands "
            "of|about"
            " {N3}] {UNIT} [for hours|overnight|for most of {DAY}], {ORG} [said|confirmed|acknowledged].",
            "{P1}, {R1}, [used|took] [a keynote|the stage|a packed event] in {CITY} on {DAY} to [show off|"
            "demonstrate|unveil] {THING}[ — the company’s biggest bet in years| — a product years in the "
            "making|].",
        ),
        "details": (
            "[The|This] [new|latest] [system|version|release] [is|was] [built|trained|designed] [on|with|"
            "using] [custom|in-house|off-the-shelf] [hardware|chips|servers] [in|at] [a|its] [data centre|"
            "facility|lab] [near|outside] {CITY}.",
            "{ORG} [said|claimed] {THING} [would|will] [cost|be priced at|start at] [about|roughly] {N4} "
            "dollars a month, [undercutting|matching|beating] [rivals|{ORG2}|competitors].",
            "[Privacy advocates|Consumer groups|Digital rights campaigners] [raised|voiced|flagged] "
            "[concerns|questions|alarm] [about|over] how {THING} [collects|stores|handles] [data|personal "
            "information|location data].",
            "The [company|firm|startup] [has|had] [raised|secured|attracted] {M2} [from investors|in funding|"
            "in venture capital] [since its founding|over the past {N4} years|since {PYEAR}].",
            "[Developers|Engineers|Early users] [who|that] [tried|tested|used] [early|beta|preview] "
            "[versions|"
            "builds] [reported|described|praised] [faster|smoother|clunkier] [performance|results] and "
            "[fewer|more|occasional] [crashes|errors|bugs].",
            "{ORG2}, [its|the] [closest|main|biggest] [rival|competitor], [released|shipped|announced] a "
            "[similar|comparable|rival] [product|service|feature] [in|last] {MONTH}.",
            "[Supply|Chip|Component] [shortages|constraints|bottlenecks] [have|had] [slowed|delayed|"
            "complicated] [production|shipments|the launch] [at|of] [factories|plants|suppliers] in "
            "{COUNTRY}.",
            "[Engineers|Staff|Researchers] at {ORG} [spent|worked for] {N4} [months|years] [on|building|"
            "refining] {THING}, [according to|said] [a person familiar with the project|people involved].",
            "[Battery life|Speed|Accuracy|Reliability] [improved|rose|jumped] by {N2} [in|during|across] "
            "[internal|independent|early] [tests|benchmarks|trials], the [company|firm] [said|claimed].",
            "[Regulators|Officials|Data protection authorities] in {COUNTRY} [said|confirmed] they [were|had"
            " been] [reviewing|examining|looking into] {THING} [after|following] [complaints|reports] from "
            "{UNIT}.",
            "{ORG} [plans|intends|hopes] to [bring|roll out|expand] {THING} to {N4} [more|additional] "
            "[countries|markets|languages] [by|before|in] {YEAR}.",
            "[Cloud|Computing|Energy] [costs|bills|spending] [for|at] {ORG} [rose|climbed|grew] {N2} "
            "[last year|in {PYEAR}|over the year], [squeezing|denting|hitting] [margins|profits].",
        ),
    },
    "sport": {
        "org": ("the {CITYX} {MASCOT}",),
        "thing": (
            "the [league|cup|championship] final against {ORG2}::the [final|showpiece|match]",
            "the [title race|playoff run|relegation fight]::the [run-in|campaign|race]",
            "the {X} cup semifinal::the [semifinal|tie|match]",
            "the [derby|local derby|grudge match] against {ORG2}::the [derby|match|fixture]",
        ),
        "extra": ("national", "regional", "continental", "winter", "spring"),
        "unit": ("fans", "spectators", "supporters", "season-ticket holders"),
        "roles": (
            ("head coach of {ORG}", "captain of {ORG}", "{ORG} [manager|coach]"),
            ("coach of {ORG2}", "a former international who now works as a [pundit|commentator]"),
            ("a season-ticket holder from {CITY}", "a [lifelong|longtime] supporter from {CITY}"),
        ),
        "money": ("million",),
        "titles": (
            "{ORG} [edge|beat|stun|hold off] {ORG2} {N4}-{N7} [in a tense|in a rain-soaked|in a bruising] "
            "[clash|encounter|contest]",
            "{P1L} [hails|praises|questions] [resilience|grit|tactics] [after|ahead of] {THING}",
            "[Late|Dramatic|Stoppage-time] [winner|goal|comeback] [sends|lifts|carries] {ORG} [into|through] "
            "{THING}",
            "{ORG} [face|brace for|prepare for] {THING} [without|minus] [key|injured|star] [players|striker]",
            "{N3} {UNIT} [pack|fill|flock to] {CITY} [for|ahead of] {THING}",
        ),
        "ledes": (
            "{ORG} [beat|edged|overpowered|held off] {ORG2} {N4}-{N7} on {DAY} [in|to reach|ahead of] "
            "{THING}, "
            "[a result|a win|a victory] that [kept|left|put] [their|the club’s] [season|hopes|ambitions] "
            "[alive|on track|in their own hands].",
            "[A|The] [crowd|sell-out crowd|record crowd] of {N3} [watched|saw|cheered] {ORG} [come from "
            "behind"
            "|hang on|pull clear] [against|to beat] {ORG2} in {CITY} on {DAY}.",
            "{P1}, {R1}, [said on|insisted on|admitted on] {DAY} that [the team|the squad|the players] "
            "[were|was] [ready|fit|hungry] for {THING}[ — the club’s biggest game in years|].",
            "{ORG} [completed|confirmed|agreed] the [signing|purchase] of a [striker|midfielder|defender] "
            "from {ORG2} [worth|valued at|reportedly worth] {M2} on {DAY}, the [largest|biggest|most "
            "expensive] [deal|signing] in [the club’s history|the league this season].",
        ),
        "details": (
            "[The|Their] [opening|first|only] [goal|score|try] [came|arrived] in the {N8}th minute "
            "[when|after"
            "|as] [a|an] [low|curling|powerful] [shot|strike|header] [found|beat|flew past] the [goalkeeper|"
            "keeper].",
            "{ORG} [have|had] [won|lost|drawn] {N4} of their last [ten|twelve|fifteen] "
            "[matches|games|fixtures] [in|across] "
            "[all competitions|the league|this season].",
            "[Injuries|Suspensions|Absences] to [key|senior|first-team] [players|defenders|midfielders] left "
            "{P1L} [short of options|scrambling to reshuffle the lineup|with a thin squad] [for|against|"
            "before] {ORG2}.",
            "[Tickets|Seats] [for|at] {THING} [sold out|were snapped up|went] [within|in] {N4} "
            "[minutes|hours]"
            ", [the club|organisers|the league] [said|confirmed|reported].",
            "[The|A] [stadium|ground|arena] in {CITY} [holds|seats|can hold] [about|roughly|some] {N3} "
            "[people|spectators|fans] [and|but] [will|is set to|may] [be expanded|be renovated|host] "
            "[before|by|in] {YEAR}.",
            "{ORG2} [dominated|controlled|had] [possession|the ball|territory] for [long spells|much of the "
            "match|the first half] [but|yet] [failed|struggled] to [turn it into|convert it into|create] "
            "[chances|goals|clear openings].",
            "[Broadcast|Television|Streaming] [rights|deals] [for|covering] the [league|competition|"
            "tournament] [are|were] [worth|valued at] [about|roughly|some] {M2} [a season|per season|a "
            "year].",
            "The [referee|officials|video review] [ruled out|disallowed|overturned] [a|an] [goal|penalty|"
            "decision] [for|against] {ORG2} [late in|early in|midway through] the [second half|first half|"
            "match].",
            "{ORG} [sit|are|stand] [{N4} points clear at the top|second in the table|{N4} points off the "
            "pace] with {NR} [games|matches|rounds] [left|remaining|to play].",
            "[Supporters|Fans|The crowd] [travelled|came|made the trip] from {CITY2} and [as far as|even|"
            "across] {COUNTRY} [to see|to watch|for] [the game|the match|the final].",
            "[Training|Preparation|The build-up] [has been|was] [disrupted|hampered|complicated] by [bad "
            "weather|travel delays|a virus in the squad] [in|around] {CITY} [this week|in recent days].",
            "{P2L} [said|told reporters|admitted] [the|that the] [side|team|players] [had made|made|paid "
            "for|had been "
            "punished for] [too many|costly|basic] [mistakes|errors] [at the back|in defence|late on].",
        ),
    },
    "science": {
        "org": ("the {SUR} Institute for [Marine|Climate|Medical|Space|Earth|Neural] "
                "[Research|Science|Studies]",
                "the University of {CITYX}"),
        "thing": (
            "a [new|peer-reviewed|landmark] study on {X}::the [study|research|paper]",
            "the {X} [trial|experiment|survey]::the [trial|work|research]",
            "a [long-running|large|multinational] {X} project::the [project|programme|effort]",
        ),
        "extra": ("coral reefs", "sleep", "antibiotic resistance", "dark matter", "soil carbon",
                  "Alzheimer’s disease", "glacier melt", "bird migration", "ocean warming", "gut bacteria"),
        "unit": ("participants", "patients", "volunteers", "samples"),
        "roles": (
            ("lead author of the study and a professor at {ORG}",
             "a [biologist|physicist|epidemiologist|geologist] at {ORG}"),
            ("an independent researcher at the University of {CITY2} who was not involved in the work",
             "a [statistician|climate scientist|clinician] who reviewed the findings"),
            ("a [science policy|public health] adviser in {CITY}", "a volunteer from {CITY}"),
        ),
        "money": ("million",),
        "titles": (
            "[Scientists|Researchers] [find|report|uncover] [surprising|new|striking] [link|clue|evidence] "
            "in "
            "{THING}",
            "{THING} [challenges|upends|supports] [long-held|decades-old|common] [view|assumption|theory]",
            "{ORG} [team|researchers] [map|measure|track] {X} [like never before|in new detail]",
            "[Why|How] {X} [matters|could matter] [more than|for] [we thought|{N3} {UNIT}]",
            "{N2} [drop|rise|shift] [seen|found|recorded] in {THING}",
        ),
        "ledes": (
            "[Researchers|Scientists|A team] at {ORG} [reported|said|published] on {DAY} [that|] {THING} "
            "[had|"
            "has] [found|revealed|uncovered] a {N2} [change|shift|drop|rise] [in|among] {UNIT} [studied|"
            "tracked|followed] over {N4} years.",
            "{THING}, [published|released|described] on {DAY} in [a leading|a prominent|the] [journal|"
            "scientific journal], [suggests|indicates|challenges] [that|] [much of what|some of what|what] "
            "[scientists|"
            "experts] [believed|assumed] about {X} [may be wrong|needs revisiting|was incomplete].",
            "{P1}, {R1}, [said on|explained on] {DAY} that [the|these|the team’s] [results|findings|data]"
            " [were|are] the [strongest|clearest|largest] [evidence|sign|signal] [yet|to date] [about|on] "
            "{X}.",
            "[A|The] {N1} [effort|programme|project] [led|run|coordinated] by {ORG} [has|had] [produced|"
            "delivered|yielded] [its|the] [first|initial|long-awaited] [results|findings|data] on {X}.",
        ),
        "details": (
            "The [team|researchers|scientists] [analysed|examined|collected] [data|samples|records] from "
            "{N3} "
            "{UNIT} [across|in|from] {N4} [countries|sites|regions], [including|among them|with] [several|"
            "some|many] in {COUNTRY}.",
            "[Using|With|Thanks to] [new|advanced|sensitive] [sensors|instruments|imaging], the [group|team|"
            "scientists] [measured|tracked|detected] [changes|signals|patterns] [too small|too faint|too "
            "subtle] to [see|spot|catch] [before|with older methods].",
            "[The|Their] [results|findings|data] [have|] [yet to be|not yet been|now been] [replicated|"
            "confirmed|reproduced] by [other|independent|outside] [labs|groups|teams].",
            "{P2L} [said|cautioned|noted] [that|] the [sample|study|trial] [was|is] [relatively "
            "small|limited|"
            "unusually large] and [that|] [more|further|longer] [work|research|follow-up] [would|will] [be "
            "needed|help].",
            "[Funding|Money|Support] for [the|the {N4}-year] [project|work|study] [came|comes] "
            "[from|through] "
            "[a|the] {N1} [grant|programme|fund] [backed|supported|set up] by [the government|foundations|"
            "{ORG2}].",
            "[Field work|Lab measurements|Ship expeditions] [took place|ran|continued] [over|across|for] "
            "{N4} [months|seasons|years] [near|off|around] {CITY}, [often|sometimes] in [harsh|extreme|"
            "difficult] [conditions|weather].",
            "[Earlier|Previous|Older] [studies|estimates|models] [had|] [put|placed|estimated] the [figure|"
            "effect|rate] at [roughly|about|only] [half|a third|a fraction] of [that|the new] [level|"
            "estimate].",
            "The [findings|results] [could|may|might] [help|guide|inform] [doctors|policymakers|planners] "
            "[deciding|choosing|weighing] how to [treat|protect|monitor] {UNIT} [in|across] {COUNTRY}.",
            "[Statistical|Careful|Detailed] [analysis|modelling|checks] [ruled out|excluded|controlled for] "
            "[age|diet|temperature|location] as [an explanation|the main cause|a factor], the [authors|team"
            "] [wrote|said].",
            "[A|The] [follow-up|second|larger] [study|phase|trial] [involving|with|of] {N3} {UNIT} [is|was] "
            "[planned|scheduled|due to begin] [for|in] {YEAR}.",
            "The [data|raw measurements|underlying data] behind the [study|work|project] "
            "[will be|are being|have been] made [public|openly available] so that [other teams|critics|"
            "outside researchers] can "
            "[check|test|build on] the [results|findings|analysis].",
            "{ORG2} [published|reported|presented] [conflicting|similar|partly overlapping] [results|data|"
            "findings] [in|last] {MONTH}, [fuelling|adding to|settling] [a|the] [debate|dispute|"
            "discussion] [among|between] [specialists|researchers|experts].",
        ),
    },
    "culture": {
        "org": ("the {SUR} [Museum|Theatre|Gallery|Opera House|Concert Hall|Arts Centre]",),
        "thing": (
            "the [new|long-awaited|blockbuster] exhibition of {X}::the [exhibition|show]",
            "a [revival|new production|touring production] of {WORK}::the [production|show|staging]",
            "the [annual|inaugural|expanded] {X} festival::the [festival|event|programme]",
            "the [newly restored|reopened|renovated] {X} wing::the [wing|project|new wing]",
        ),
        "extra": ("contemporary photography", "early modern maps", "West African textiles", "Nordic design",
                  "jazz", "street art", "ceramics", "folk music", "silent film"),
        "unit": ("visitors", "ticket holders", "theatregoers", "audience members"),
        "roles": (
            ("director of {ORG}", "the [chief curator|artistic director|programme director] at {ORG}"),
            ("a [critic|cultural historian|arts writer] based in {CITY2}",
             "a [rival|veteran] curator from {CITY2}"),
            ("a visitor from {CITY}", "a [student|painter|retired architect] from {CITY}"),
        ),
        "money": ("million",),
        "titles": (
            "{ORG} [opens|unveils|reveals] {THING}",
            "[Review|First look|Inside]: {THING} [dazzles|divides|delights] {CITY}",
            "{P1L} [bets|gambles] on {THING} to [win back|draw|lure] {UNIT}",
            "{THING} [draws|attracts|pulls in] {N3} {UNIT} in [opening|first] [week|month]",
            "[Row|Debate|Controversy] over {THING} [grows|deepens|spills over] in {CITY}",
        ),
        "ledes": (
            "{ORG} [opened|unveiled|launched] {THING} on {DAY}, [drawing|attracting|welcoming] "
            "[about|roughly|"
            "more than] {N3} {UNIT} [in|on|over] [its|the] [first|opening] [weekend|days].",
            "{P1}, {R1}, [said on|announced on|revealed on] {DAY} that {THING} [would|will] [open|run|tour] "
            "[in|from|starting in] {MONTH}[ — the venue’s most ambitious programme in years|].",
            "[After|Following] {N4} years of [planning|fundraising|delays], {THING} [finally|at last|"
            "officially] [opened|arrived|premiered] in {CITY} on {DAY}.",
            "[A|The] [row|debate|controversy] over {THING} [intensified|grew|spread] on {DAY} [after|as|when]"
            " {P2}, {R2}, [described it as|dismissed it as|called it] [“tired”|“a missed opportunity”|“a "
            "triumph”].",
        ),
        "details": (
            "The [show|exhibition|programme] [brings together|features|gathers] [more than|over|about] {N4}0 "
            "[works|pieces|objects] [from|loaned by|borrowed from] [collections|museums|lenders] in "
            "{COUNTRY} "
            "and [beyond|abroad|elsewhere].",
            "[Tickets|Admission|Entry] [cost|costs|is priced at] {N4} [dollars|euros], with [free|"
            "discounted|reduced-price] [entry|tickets|admission] for [students|children|residents of "
            "{CITY}].",
            "[Critics|Reviewers|Early visitors] [praised|questioned|singled out] the [lighting|staging|"
            "layout|design], [calling it|describing it as] [“bold”|“intimate”|“overwhelming”|“uneven”].",
            "[The|Its] [restoration|renovation|building work] [cost|took|required] {N1} and [took|lasted|"
            "ran for] {N4} [years|months|seasons], [partly funded|backed|paid for] by [private donors|a "
            "lottery grant|{ORG2}].",
            "[Several|Some|A few] [works|pieces|items] [are|were] [being shown|on display|exhibited] in "
            "{CITY} for the first time since {PYEAR}[, having spent decades in storage|].",
            "[The|Its] [cast|ensemble|company] [includes|features|brings together] [performers|musicians|"
            "dancers] from {N4} [countries|cities], [many|several|some] [of them|] [making|marking] their "
            "[debut|first appearance] in {CITY}.",
            "[Visitor|Audience|Attendance] [numbers|figures] at {ORG} [fell|dropped|rose] [by|] {N2} "
            "[during|over|in] {PYEAR}, [prompting|leading to|forcing] a [rethink|review] of its "
            "[programme|strategy].",
            "[Educational|Community|Outreach] [programmes|events|workshops] [linked to|around|tied to] "
            "{THING}"
            " [will|are set to|aim to] [reach|involve|engage] {N3} [schoolchildren|students|young people].",
            "[The|A] [touring|travelling] [version|edition] of {THING} [will|is set to|is expected to] "
            "[visit|travel to|move to] {CITY2} and {COUNTRY} [in|during|before] {YEAR}.",
            "{ORG2} [staged|mounted|hosted] a [similar|rival|smaller] [show|production|event] [in|last] "
            "{MONTH}, [drawing|prompting|inviting] [comparisons|debate|criticism].",
            "[Donors|Patrons|Sponsors] [pledged|contributed|gave] [about|roughly|more than] {M2} [toward|to|"
            "for] {THING}, [officials|organisers|trustees] [said|confirmed].",
            "[Artists|Performers|Curators] [involved|taking part|working on it] [described|called|saw] "
            "{THING} as [a homecoming|a gamble|a labour of love|long overdue].",
        ),
    },
}


# fmt: on

# --------------------------------------------------------------------------------------------------
# Generic templates (all topics)
# --------------------------------------------------------------------------------------------------

_QUOTES: Final = _lines(
    """
    > “[We are|We’re] [confident|optimistic|hopeful] that {THING} will [deliver|pay off|make a real
      difference] for {UNIT} [in {CITY}|across {COUNTRY}|everywhere],” {P1L} said on {DAY}.
    > “This is the [largest|biggest|most ambitious] step [we have taken|we’ve taken] in [years|a decade|a
      generation],” said {P1}, {R1}.
    > “[Nobody|No one] [should|can] pretend that {THING} [comes without risks|is a done deal|will be
      easy],” {P2L} [said|told reporters|warned].
    > “[Frankly|Honestly|To be clear], the [numbers|figures|data] [speak for themselves|tell a clear
      story],” {P1L} [added|said], pointing to [a|the] {N2} [rise|jump|increase] in {UNIT}.
    > “[I have been|I’ve been] [watching|following] this for {NR} years and [I have never seen|I’ve never
      seen] anything like it,” said {P3}, {R3}.
    > {P2}, {R2}, [was more cautious|struck a more cautious tone|sounded a note of caution]: “[The devil
      is in the details|It is too early to celebrate|Plenty could still go wrong].”
    > “Our [priority|focus|job] [is|remains] to [get this right|protect {UNIT}|keep our promises],” {P1L}
      said in a statement [released|issued|published] on {DAY}.
    > “[People|Families|Ordinary people] in {CITY} [deserve|want|need] [answers|clarity|a straight
      answer], not [slogans|spin|more delays],” said {P3L}.
    > “[If {THING} works|Should {THING} succeed], [it will|it could] [change the way|reshape how] {UNIT}
      [think about|deal with] [the issue|this|everyday life],” {P2L} said.
    > Asked whether {ORG} [had|would have] [moved too quickly|acted too slowly], {P1L} [replied|said]:
      “[We|I] [stand by|will not apologise for] [every decision|the timing].”
    > “[It’s|It is] a [bold|risky|smart] [bet|move|gamble], [but|and] [one|a bet] that [could|may] [pay
      off|backfire] [within months|quickly|by {YEAR}],” {P2} said.
    > “We [listened to|heard from] {N3} {UNIT} before [making this decision|we moved ahead],” {P1L} said,
      [adding|noting] that [feedback|the response] [had been|was] [overwhelmingly|largely]
      [positive|supportive].
    > “[The truth is|In reality], [nobody|no one] [knows|can say] [exactly|yet] how {THING} will [play
      out|unfold],” {P3L} [admitted|acknowledged|conceded].
    > “[Give us|Let us have] {NR} months and [judge us then|look at the results],” said {P1L},
      [smiling|laughing|unfazed] [at|during] [a briefing|the event] in {CITY}.
    > “[This|That] [isn’t|is not] [about|just about] {ORG}; it’s about [the whole|every]
      [sector|community|city],” {P1} said [at a news conference|during a briefing|in an interview] in
      {CITY}.
    > “[Critics|Skeptics] [said|told us] the same thing [last year|in {MONTH}|a decade ago], and they were
      wrong,” {P1L} [said|argued|insisted].
    > “[I worry|My worry|My concern] is [that|] [the|those] {UNIT} [in {CITY2}|on the ground] [will|could]
      [pay the price|be left behind|bear the costs],” {P2L} said.
    > “We [owe it to|have a duty to] {UNIT} to [be transparent|explain ourselves|show our work],” {P1L}
      said, [promising|pledging] [to publish|to release] [more details|a full report] by {DATE}.
    > {P3}, {R3}, [put it more bluntly|was blunter|summed up the mood]: “[It’s about time|About
      time|Finally, someone listened].”
    > “[There is|There’s] [a lot of|plenty of] [work|ground] [still|] to [do|cover],” {P1L}
      [conceded|acknowledged], [adding|noting] that the [timetable|schedule] [remained|was still]
      [tight|ambitious].
    > “[The|This] [debate|argument] [has moved on|has shifted|is over],” said {P2L}. “[The question
      now|What matters now] is [how fast|how well|who pays].”
    > “[We|Our team] [worked|have worked] [around the clock|through the weekend|for months] [on this|to
      get here],” {P1L} [told staff|wrote in a memo|said in an email] seen by [reporters|this
      publication].
    > “[Anyone|Whoever] [tells you|says] [they know|they can predict] [what happens next|how this ends]
      [is guessing|is not being honest],” {P2L} said.
    > “For {UNIT} [like me|in my position], [the|this] [change|decision] [matters|means] [a lot|more than
      people think],” said {P3L}.
    > “[We have|We’ve] [set aside|earmarked|put aside] {N1} [for this|to make it work],” {P1L} said,
      “[and|but] [we are|we’re] [ready|prepared] to [spend|invest] more [if needed|if necessary].”
    > “[Nothing|None of this] [happens|works] [without|unless we have] [trust|the support of
      {UNIT}|patience],” {P1L} [told|said to] [the audience|the room|those gathered] in {CITY2}.
    > “I [don’t|do not] [think|believe] [{UNIT} have|the public has|anyone has] been [told|given] the
      [full|whole|complete] [picture|story],” {P2L} [said|argued|complained].
    > “[Honestly|To be honest], I [didn’t|did not] [expect|think] [it|this] [would|could] [happen|move] so
      [fast|quickly|soon],” {P3L} [said|told us] [on {DAY}|outside the venue|by phone].
    """
)

_CONTEXT: Final = _lines(
    """
    > The [announcement|decision|move] [comes|came] {NR} [weeks|months] after {ORG} [first|initially]
      [signaled|hinted at|floated] {THING} [at|during] [a meeting|an event|a briefing] in {CITY2}.
    > {ORG} [has|had] [faced|come under] [mounting|growing|intense] [pressure|scrutiny|criticism]
      [from|by] [rivals|regulators|campaigners] [over the past year|since {MONTH}|in recent months].
    > [According to|Based on] [figures|data|documents] [reviewed by|obtained by|shared with]
      [reporters|this publication], {THING} [will|would] [cost|require] [roughly|about|around] {N1}.
    > [Officials|People familiar with the matter|Two people briefed on the plans] said the [final|formal]
      [decision|vote|approval] [could|may|is expected to] come [as early as|by|before] {DATE}.
    > The [plan|proposal|project] [had been|was] [years in the making|in the works since {PYEAR}],
      [with|amid] [repeated|several] [delays|setbacks|false starts] [along the way|over the years].
    > {ORG2}, [a|the] [rival|competitor|longtime rival], [declined to comment|did not respond to a request
      for comment|said it was studying the announcement].
    > [Earlier this|Last] [year|month], {ORG} [reported|disclosed|published] [figures|numbers|results]
      showing a {N2} [drop|decline|fall] in [interest|demand|support] [among|from] {UNIT}.
    > [In|Across] {COUNTRY}, [similar|comparable] [efforts|initiatives|attempts] have
      [produced|yielded|had] [mixed|uneven|modest] [results|outcomes], [experts|observers] [say|note].
    > The [debate|controversy|discussion] [over|around|about] {THING} has [split|divided]
      [opinion|observers|commentators] in {CITY}, where [many|some] {UNIT} [fear|worry about] [rising
      costs|disruption|being overlooked].
    > [Some|Several|A handful of] {UNIT} [gathered|protested|queued] [outside|near|in front of] [the|a]
      [headquarters|building|venue] in {CITY} on {DAY}[, holding signs| to make their voices heard|].
    > {P1}, who [joined|took charge at|moved to] {ORG} in {PYEAR}, has [made|called] {THING} [a top
      priority|the centrepiece of the agenda|a personal mission].
    > [Before|Prior to] [joining|taking the job at] {ORG}, {P1L} [spent|worked] {NR} years [in|at]
      [consulting|government|a rival organisation|academia].
    > The [number|total] of {UNIT} [affected|involved] [stands at|is estimated at|has reached]
      [about|roughly|nearly] {N3}, [up from|compared with] [a year ago|last year|the previous estimate].
    > [Analysts|Observers|Experts] [had|] [widely|largely|broadly] [expected|anticipated|predicted] [the
      move|the decision|a delay], [although|though] [the|its] [timing|scale] [surprised|caught out]
      [some|many].
    > [A|The] [timeline|schedule] [published|released|set out] [on|late on] {DAY}
      [shows|suggests|indicates] [the|that the] [first|initial] phase [will|could] [begin|start|be
      completed] [in|by] {MONTH}.
    > [It is not|It’s not] the first time {ORG} has [clashed with|tangled with|sparred with] {ORG2}; the
      two [have|] [feuded|competed|argued] [publicly|openly] [for years|since {PYEAR}].
    > {ORG} [employs|has a workforce of|counts] [about|roughly|some] {N10} [people|staff] and
      [operates|works|is active] in [more than|over|nearly] {NR} [countries|cities|regions].
    > A [report|study|review] [published|released] [last|this] [month|year] [by|from] {ORG2}
      [estimated|found|suggested] that {N2} of {UNIT} [would|could|might] [benefit|be affected|notice a
      difference].
    > [Local|Regional|City] [leaders|officials|councillors] in {CITY2} [welcomed|criticised|questioned]
      the [news|announcement|plan], [saying|arguing] it [would|could] [bring|cost] [jobs|money|attention]
      [to|for] the [area|region].
    > [Much|Most|A large part] of the [money|funding|budget] [will|is set to|is expected to] [go toward|be
      spent on|flow into] [staff|infrastructure|research|training], [officials|executives|organisers]
      said.
    > [The|Its] [critics|opponents|detractors] [argue|say|contend] that {THING} [was|has been]
      [rushed|poorly explained|driven by politics] and [that|] [the|its] [costs|risks] [have been|were]
      [underestimated|played down].
    > [Supporters|Backers|Proponents] [counter|respond|say] that [doing nothing|waiting longer|the status
      quo] [would|could] [cost|mean] [far more|even more] [in the long run|over time] for {UNIT}.
    > The [issue|question|matter] [is expected to|will likely|could] [dominate|feature in|come up at]
      [a|the] [meeting|hearing|summit] in {CITY2} on {DATE}.
    > {ORG} [said|confirmed|noted] [it|that it] [had|has] [hired|brought in|appointed]
      [outside|independent|external] [advisers|experts|consultants] to [review|oversee|audit] [the|its]
      [process|plans|work].
    > [A|One] [spokesperson|spokeswoman|spokesman] for {ORG} [said|confirmed] the [organisation|group]
      [would|will] [publish|release|share] [a|its] [full|detailed] [plan|report|timeline] [in the coming
      weeks|before {DATE}|later this year].
    > In a [filing|letter|statement] [sent|submitted|circulated] [on|late on] {DAY}, {ORG}
      [said|argued|acknowledged] [that|] {THING} [carried|involved|posed] [“significant
      uncertainties”|“material risks”|“unusual challenges”].
    > [Last year|In {PYEAR}], {ORG} [recorded|posted|reported] [its|the] [largest|biggest|strongest]
      [year|season|results] [on record|in its history|in a decade], [helped by|driven by|thanks to]
      [strong|steady|booming] [demand|interest|support] in {CITY}.
    > [Attendance|Turnout|Participation] [at|for] [the|a] [public|town hall|open] [meeting|forum|session]
      in {CITY} [on|last] {DAY} was [higher|lower] than [expected|usual|in previous years],
      [organisers|officials] [said|noted].
    > [Two|Three|Several] [former|senior|current] [officials|executives|members] [of|at] {ORG} [told|said
      to] [reporters|this publication] [that|] [internal|private|behind-the-scenes] [discussions|debates]
      [had been|were] [tense|heated|difficult].
    > [The|This] [move|decision] [also|] [puts|places] {ORG} [in direct competition|on a collision
      course|at odds] with {ORG2}, which [announced|unveiled|launched] a [similar|rival|competing]
      [plan|effort] [in|last] {MONTH}.
    > [Opposition|Resistance|Pushback] [has been|was] [strongest|loudest|most vocal] in {CITY2}, where
      [a|one] [petition|campaign|letter] [against|opposing] {THING} [has gathered|collected|drew] {N10}
      [signatures|names|supporters].
    > [Meanwhile|Separately|At the same time], {ORG2} [said|announced] on {DAY2} [that|] it [would|will]
      [review|reconsider|watch closely] [its own|its] [plans|strategy|options].
    > [Neither|None of the] [side|parties] [has|have] [ruled out|excluded|dismissed] [further|new]
      [talks|changes|concessions] [before|ahead of] {DATE}.
    > [On social media|Online|In online forums], [reaction|opinion] was [mixed|divided|split], with
      [some|many] {UNIT} [praising|welcoming|mocking] the [announcement|news|decision].
    > The [outcome|result|decision] [was|is] [seen|viewed|regarded] as a [setback|victory|test] for {P2L},
      who [had|] [campaigned|argued|pushed] [against|for] [it|the idea] for [months|years].
    > [Insurers|Lenders|Partners] [in|across] {COUNTRY} [are|were] [said to be|reported to be]
      [watching|following|tracking] [developments|the outcome|the process] [closely|carefully|nervously].
    > [A|One] [person|source|official] [close to|familiar with|involved in] the
      [talks|process|discussions] [said the mood was|described the atmosphere as]
      [“constructive”|“frosty”|“businesslike”|“tense but polite”].
    > {P1L} [will|is due to|is expected to] [face|answer|take] [questions|criticism] [from|before] [a|the]
      [panel|committee|board] in {CITY2} [on|next] {DAY2}.
    > The [proposal|plan] [drew|attracted|prompted] [more than|over|nearly] {N10} [written|public|online]
      [comments|submissions|responses] [during|in] [a|the] [consultation|review] [that|which]
      [closed|ended] in {MONTH}.
    > [Weather|Transport|Staffing] [problems|disruption|shortages] in {CITY} [have|had] [already|] [pushed
      back|delayed|complicated] [parts of|some of|the early stages of] the [work|plan|schedule].
    > [Independent|Outside|External] [auditors|reviewers|experts] [flagged|highlighted|identified] {NR}
      [areas|issues|problems] [that|which] [needed|required|would need] [attention|fixing|more work]
      [before|ahead of] [launch|approval|the deadline].
    > [Insiders|Staff|Colleagues] [describe|described] {P1L} as [a|an]
      [methodical|impatient|cautious|combative] [manager|leader|operator] [who|that] [rarely gives
      interviews|seldom gives ground|often speaks off the cuff].
    """
)

_NUMBERS: Final = _lines(
    """
    > The [total|overall] [cost|price tag|bill] [of|for] {THING} [is|was] [put at|estimated at|expected to
      reach] {N1}, [making it|which would make it] [one of the largest|among the biggest]
      [efforts|projects|commitments] of its kind in {COUNTRY}.
    > [About|Roughly|Some] {N3} {UNIT} [have|had] [signed up|registered|applied] [so far|since {MONTH}|in
      the first {NR} days], [according to|based on] [figures|numbers] [from|released by] {ORG}.
    > [That|This] [represents|amounts to|works out to] [a|an] {N2} [increase|rise|jump] [compared
      with|over|from] [last year|the same period a year earlier|{PYEAR}].
    > [If|Should] [current|present] [trends|rates] [hold|continue], the [number|total] [could|would]
      [top|exceed|pass] {N3} [by|before] {YEAR}, [analysts|researchers|planners] [estimate|project|say].
    > [Nearly|Almost|More than] {N9} of [respondents|those surveyed|people polled] in {CITY} [said|told
      pollsters] they [supported|backed|opposed] {THING}[, a survey by {ORG2} found|, according to a
      recent poll|].
    > The [first|opening|initial] [phase|stage|round] [alone|by itself] [will|is set to] [cost|require]
      [about|roughly] {N1} and [last|run|take] {NR} months.
    > [Costs|Prices|Fees] [have risen|have climbed|rose|increased] by {N9} since {PYEAR}, [outpacing|far
      outpacing|well ahead of] [inflation|wages|expectations].
    > [Of|Among] the {N10} {UNIT} [surveyed|counted|tracked], [about|roughly|fewer than] [half|a third|a
      quarter] [said|reported|indicated] [they|that they] [were|felt] [satisfied|better off|worried].
    > [Spending|Investment|Outlays] [on|for] {X} [has|had] [grown|risen|expanded] [to|above|past] {M2} a
      year, [roughly|about|nearly] {NR} times the [level|figure|amount] [a decade ago|in {PYEAR}].
    > [Waiting times|Delays|Backlogs] [have|had] [grown|lengthened|doubled] to [about|roughly|an average
      of] {NR} weeks, [up from|compared with] [a few days|under a week|two weeks] [in|during] {PYEAR}.
    """
)

_WHY: Final = _lines(
    """
    > {THING} [could|would|will] [affect|touch|shape] [the lives of|the finances of|the plans of]
      [roughly|about|some] {N3} {UNIT} [in {CITY}|across {COUNTRY}|in the region].
    > [It is|It’s] the [clearest|strongest|boldest] [sign|signal|indication] [yet|so far] that {ORG}
      [is|is now] [willing|ready|prepared] to [take|make] [big|bold|risky] [bets|decisions].
    > [The|Its] [outcome|result] [will|could|may] [set|establish|create] a [precedent|template|benchmark]
      for [how|whether] [other|similar|rival] [organisations|groups|players] [handle|approach|tackle] the
      [issue|problem|question].
    > [With|Given] {N1} [at stake|on the line|in play], [even|] [small|minor|modest]
      [delays|mistakes|changes] [could|would|might] [prove|be] [costly|expensive|damaging].
    > [For|To] {UNIT} in {CITY}, the [change|shift|decision] [is|could be] the [biggest|largest|most
      significant] [shake-up|change|upheaval] [in|for] [years|a generation|decades].
    > [How|Whether] {ORG} [handles|manages|delivers] {THING} [will|could] [decide|shape|determine] its
      [reputation|standing|future] for [years to come|the next decade|a long time].
    """
)

_BIG: Final = _lines(
    """
    > [Across|Throughout] {COUNTRY}, [organisations like|groups such as|players like] {ORG} [are|have
      been] [racing|scrambling|struggling] to [adapt to|respond to|keep up with]
      [rapid|sweeping|fast-moving] [change|shifts|disruption].
    > {THING} [is|comes] [part of|amid] a [broader|wider|larger] [push|trend|shift] [toward|towards]
      [consolidation|cost-cutting|reform|modernisation] [that|which] [began|started|gathered pace]
      [around|in] {PYEAR}.
    > [The|This] [story|episode|fight] [reflects|mirrors|illustrates] [growing|deepening|rising]
      [tension|friction|unease] between [established|incumbent|traditional] [players|institutions] and
      [newcomers|challengers|upstarts].
    > [Demand|Appetite|Pressure] for [change|action|reform] in {X} has [grown|risen|built]
      [steadily|sharply|quietly] [since|after] {PYEAR}, [pushing|forcing|nudging]
      [leaders|decision-makers|institutions] to [act|respond|move].
    > [Similar|Comparable|Parallel] [fights|debates|experiments] are [playing out|under way|unfolding] in
      {CITY2} and [elsewhere in|across] {COUNTRY}, with [mixed|uneven|varied] [results|outcomes] [so
      far|to date].
    """
)

_NEXT: Final = _lines(
    """
    > {ORG} [is expected to|will|plans to] [release|publish|present] [further|more|fresh]
      [details|figures|plans] [on|by|before] {DATE}[, followed by a vote in {MONTH}|, officials said|].
    > [A|The] [final|formal|binding] [decision|vote|ruling] [is due|is expected|is scheduled] [in|by]
      {MONTH}, [and|while] [legal|public|political] [challenges|objections] [are|remain]
      [possible|likely].
    > {P1L} [is set to|will|is scheduled to] [meet|sit down with|brief] [{ORG2}|officials in
      {CITY2}|investors and partners] [on|next] {DAY2} to [discuss|outline|defend] the [next
      steps|plan|timetable].
    > [Watch for|Look out for|Expect] [a|the] [first|next] [progress report|update|set of figures]
      [in|around|by] {MONTH}, [when|as] {ORG} [must|will have to|has promised to] [show|prove|demonstrate]
      [results|progress].
    > [Work|Preparations|Planning] [on|for] the [next|second|final] [phase|stage] [should|could|is due to]
      [begin|start] [in|by|before] {YEAR}[, if funding holds| if approvals arrive on time|].
    """
)

_BULLETS: Final = _lines(
    """
    > • {N1} — the [estimated|projected|reported] [cost|value|size] of {THING}
    > • {N3} — [the number of|] {UNIT} [affected|involved|expected to take part]
    > • {N2} — the [change|rise|shift] in [demand|support|interest] [since|over] {PYEAR}
    > • {N4} — [months|weeks] [until|before] the [first|next] [deadline|milestone|review]
    > • {YEAR} — the [target|goal] [date|year] for [completion|full rollout|the final phase]
    > • {DATE} — [when|the day] the [key|next] [decision|vote|update] is [due|expected]
    """
)

_LABELS: Final = {
    "why": "Why it matters:",
    "big": "The big picture:",
    "next": "What’s next:",
    "bullets": "By the numbers:",
}


# --------------------------------------------------------------------------------------------------
# The compiled phrase bank: one flat tuple of templates, and pools of indexes into it
# --------------------------------------------------------------------------------------------------


def _build_bank() -> tuple[
    tuple[_Compiled, ...], dict[str, tuple[int, ...]], dict[str, _Topic], tuple[int, ...]
]:
    """Compile every template once.

    Returns:
        The flat template tuple, named pools of indexes into it, the compiled topics, and each
        template's repair flags (see :func:`_flags`).
    """
    flat: list[_Compiled] = []
    pools: dict[str, tuple[int, ...]] = {}

    def add(pool: str, templates: Sequence[str]) -> None:
        start = len(flat)
        flat.extend(_compile(template) for template in templates)
        pools[pool] = tuple(range(start, len(flat)))

    for name, block in (
        ("quote", _QUOTES),
        ("context", _CONTEXT),
        ("numbers", _NUMBERS),
        ("why", _WHY),
        ("big", _BIG),
        ("next", _NEXT),
        ("bullets", _BULLETS),
    ):
        add(name, block)
    topics: dict[str, _Topic] = {}
    for name, data in _TOPIC_DATA.items():
        add(f"{name}:title", data["titles"])
        add(f"{name}:lede", data["ledes"])
        add(f"{name}:detail", data["details"])
        topics[name] = _Topic(
            name=name,
            org=tuple(_compile(t) for t in data["org"]),
            thing=tuple((_compile(t.split("::")[0]), _compile(t.split("::")[1])) for t in data["thing"]),
            extra=data["extra"],
            unit=data["unit"],
            roles=tuple(tuple(_compile(t) for t in roles) for roles in data["roles"]),
            money=data["money"],
        )
    return tuple(flat), pools, topics, tuple(_flags(parts) for parts in flat)


_BANK, _POOLS, _TOPICS, _FLAGS = _build_bank()
TOPICS: Final = tuple(_TOPICS)
#: Number of sentence templates (titles excluded) in the phrase bank.
TEMPLATE_COUNT: Final = sum(len(ids) for name, ids in _POOLS.items() if not name.endswith(":title"))


# --------------------------------------------------------------------------------------------------
# Stories
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Story:
    """One generated news story, before it becomes a published article.

    Attributes:
        title: The headline.
        paragraphs: Body paragraphs, in order.
        entities: Slot name to value: people (``P1``..), organisations, places, numbers, dates.
        topic: One of :data:`TOPICS`.
        templates: Indexes of the phrase-bank templates used, so a same-event rewrite can avoid them.
    """

    title: str
    paragraphs: tuple[str, ...]
    entities: Mapping[str, str]
    topic: str
    templates: frozenset[int] = field(default=frozenset())

    @property
    def text(self) -> str:
        """The body as plain text, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)

    @property
    def word_count(self) -> int:
        """Number of whitespace-separated words in the body."""
        return sum(len(paragraph.split()) for paragraph in self.paragraphs)


def _money(rng: random.Random, scales: Sequence[str]) -> str:
    """An amount such as ``$4.2 billion``."""
    scale = scales[int(rng.random() * len(scales))]
    if scale == "billion":
        return f"${(11 + int(rng.random() * 480)) / 10:.1f} billion"
    return f"${12 + int(rng.random() * 939)} million"


def _distinct(rng: random.Random, items: Sequence[str], k: int) -> list[str]:
    """``k`` distinct items, drawn uniformly."""
    rand = rng.random
    size = len(items)
    picked: list[str] = []
    while len(picked) < k:
        item = items[int(rand() * size)]
        if item not in picked:
            picked.append(item)
    return picked


def make_entities(rng: random.Random, topic: str) -> dict[str, str]:
    """Draw the named entities of a new story.

    Args:
        rng: The random source.
        topic: One of :data:`TOPICS`.

    Returns:
        Slot name to value. People are ``P1``..``P3`` (``P1L`` is a surname, ``R1`` a role),
        organisations ``ORG`` and ``ORG2``, places ``CITY``, ``CITY2`` and ``COUNTRY``, numbers ``N1``
        (money), ``N2`` (percent), ``N3`` (count), ``N4``..``N8`` (small), and dates.
    """
    spec = _TOPICS[topic]
    rand = rng.random

    def pick(items: Sequence[str]) -> str:
        return items[int(rand() * len(items))]

    def between(low: int, high: int) -> int:
        return low + int(rand() * (high - low + 1))

    firsts = _distinct(rng, FIRST_NAMES, 3)
    lasts = _distinct(rng, LAST_NAMES, 3)
    cities = _distinct(rng, CITIES, 3)
    surs = _distinct(rng, _SURNAME_ORGS, 2)
    mascots = _distinct(rng, _MASCOTS, 2)
    day, day2 = _distinct(rng, WEEKDAYS, 2)
    ents: dict[str, str] = {
        "CITY": cities[0],
        "CITY2": cities[1],
        "COUNTRY": pick(COUNTRIES),
        "BANK": pick(BANKS),
        "N1": _money(rng, spec.money),
        "N2": f"{between(3, 48)} percent",
        "N9": f"{between(5, 71)} percent",
        "N3": f"{between(1200, 98000):,}",
        "N10": f"{between(150, 40000):,}",
        "M2": _money(rng, spec.money),
        "N4": str(between(3, 9)),
        "N5": str(between(120, 180)),
        "N6": str(between(190, 350)),
        "N7": str(between(0, 2)),
        "N8": str(between(11, 88)),
        "YEAR": str(between(2027, 2031)),
        "PYEAR": str(between(2015, 2024)),
        "DAY": day,
        "DAY2": day2,
        "MONTH": pick(MONTHS),
        "DATE": f"{pick(MONTHS)} {between(1, 28)}",
        "X": pick(spec.extra),
    }
    for i in range(3):
        ents[f"P{i + 1}"] = f"{firsts[i]} {lasts[i]}"
        ents[f"P{i + 1}L"] = lasts[i]
    for key, sur, mascot, city in (
        ("ORG", surs[0], mascots[0], cities[0]),
        ("ORG2", surs[1], mascots[1], cities[2]),
    ):
        org = spec.org[int(rand() * len(spec.org))]
        ents[key] = _render(org, rng, {"SUR": sur, "MASCOT": mascot, "CITYX": city})
    ents["WORK"] = f"“The {pick(_WORK_A)} {pick(_WORK_B)}”"
    ents["UNIT"] = pick(spec.unit)
    full, short = spec.thing[int(rand() * len(spec.thing))]
    ents["THING"] = _fix_articles(_render(full, rng, ents))
    ents["THING_SHORT"] = _render(short, rng, ents)
    for i, roles in enumerate(spec.roles):
        ents[f"R{i + 1}"] = _fix_articles(_render(roles[int(rand() * len(roles))], rng, ents))
    return ents


_WORK_A: Final = _words("Silent Winter Glass Last Distant Burning Paper Quiet Golden Hollow Salt Northern")
_WORK_B: Final = _words("Orchard Harbour Letters Garden Crossing Tide Mirror Station Lantern Choir Season")


_FALLBACK: Final = {
    "detail": ("context", "numbers"),
    "quote": ("context",),
    "context": ("numbers",),
    "numbers": ("context",),
    "big": ("why",),
    "why": ("big",),
}


class _Mentions(dict[str, str]):
    """Entities for rendering: the first ``{THING}`` gets the full phrase, later ones often the short one."""

    __slots__ = ("rng", "seen")

    def __init__(self, ents: Mapping[str, str], rng: random.Random) -> None:
        super().__init__((key, value) for key, value in ents.items() if key != "THING")
        self["THING_FULL"] = ents["THING"]
        self.setdefault("THING_SHORT", ents["THING"])
        self.rng = rng
        self.seen = False

    def __missing__(self, key: str) -> str:
        if key == "NR":  # a minor number that may differ at every mention
            return str(int(self.rng.random() * 11) + 2)
        if key != "THING":
            raise KeyError(key)
        if self.seen and self.rng.random() < 0.6:
            return self["THING_SHORT"]
        self.seen = True
        return self["THING_FULL"]


class _Picker:
    """Draws templates from pools without repeats within one story, avoiding an exclusion set."""

    __slots__ = ("exclude", "queues", "rng", "used")

    def __init__(self, rng: random.Random, exclude: frozenset[int]) -> None:
        self.rng = rng
        self.exclude = exclude
        self.queues: dict[str, list[int]] = {}
        self.used: set[int] = set()

    def _queue(self, pool: str) -> list[int]:
        """The not yet used templates of ``pool`` (excluded ones only as a last resort)."""
        queue = self.queues.get(pool)
        if queue is None:
            ids = _POOLS[pool]
            queue = [i for i in ids if i not in self.exclude] if self.exclude else list(ids)
            self.queues[pool] = queue = queue or list(ids)
        return queue

    def take(self, pool: str) -> int:
        """The index of an unused template of ``pool``, falling back to related pools when it runs dry."""
        queue = self.queues.get(pool)
        if queue is None:
            queue = self._queue(pool)
        if not queue:
            for candidate in _FALLBACK.get(pool.split(":")[-1], ()):
                queue = self._queue(candidate)
                if queue:
                    break
            else:
                return self.rng.choice(_POOLS[pool])  # every pool exhausted: reuse
        size = len(queue)
        position = int(self.rng.random() * size)
        index = queue[position]
        queue[position] = queue[size - 1]
        queue.pop()
        self.used.add(index)
        return index

    def say(self, pool: str, ents: Mapping[str, str]) -> str:
        """One rendered sentence from ``pool``."""
        index = self.take(pool)
        flags = _FLAGS[index]
        text = _render(_BANK[index], self.rng, ents)
        return _tidy(text, flags) if flags else text


def _labelled(label: str, sentence: str) -> str:
    """A stock-phrase paragraph such as ``Why it matters: ...``."""
    return f"{label} {sentence}"


def _middle_paragraph(pick: _Picker, topic: str, ents: Mapping[str, str]) -> str:
    """One body paragraph of one to three sentences."""
    rand = pick.rng.random
    roll = rand()
    second = rand()
    detail = f"{topic}:detail"
    if roll < 0.28:
        pools = [detail, detail if second < 0.4 else "context" if second < 0.75 else "numbers"]
    elif roll < 0.50:
        pools = ["quote", "context"] if second < 0.4 else ["quote"]
    elif roll < 0.70:
        pools = ["context", "context" if second < 0.5 else detail]
    elif roll < 0.85:
        pools = ["numbers", "context" if second < 0.5 else detail]
    else:
        pools = [detail if second < 0.5 else "context"]
    if rand() < 0.15:
        pools.append("context")
    return " ".join([pick.say(pool, ents) for pool in pools])


def _stock_paragraph(pick: _Picker, kind: str, ents: Mapping[str, str]) -> str:
    """A ``Why it matters:`` / ``The big picture:`` / ``By the numbers:`` / ``What's next:`` paragraph."""
    if kind == "bullets":
        bullets = [pick.say("bullets", ents) for _ in range(3)]
        return "\n".join([_LABELS["bullets"], *bullets])
    return _labelled(_LABELS[kind], pick.say(kind, ents))


def _words_in(paragraph: str) -> int:
    """Words in a tidy paragraph (single spaces and newlines between words)."""
    return paragraph.count(" ") + paragraph.count("\n") + 1


def _word_count(paragraphs: Sequence[str]) -> int:
    """Words in all paragraphs."""
    return sum(_words_in(paragraph) for paragraph in paragraphs)


def _compose(
    rng: random.Random,
    topic: str,
    story_ents: Mapping[str, str],
    words: tuple[int, int],
    exclude: frozenset[int] = frozenset(),
) -> Story:
    """Write one story about the given entities.

    Args:
        rng: The random source.
        topic: One of :data:`TOPICS`.
        story_ents: The story's entities (see :func:`make_entities`).
        words: Inclusive bounds on the body's word count.
        exclude: Template indexes to avoid (those of a story about the same event).

    Returns:
        The story.
    """
    lo, hi = words
    pick = _Picker(rng, exclude)
    mentions = _Mentions(story_ents, rng)
    title = pick.say(f"{topic}:title", mentions)
    mentions.seen = False
    ents = mentions
    target = rng.randint(lo, hi)
    dateline = f"{story_ents['CITY'].upper()} — "  # AP-style dateline
    paragraphs = [
        f"{dateline}{pick.say(f'{topic}:lede', ents)} {pick.say(f'{topic}:detail', ents)}",
        pick.say("quote", ents) + (f" {pick.say('context', ents)}" if rng.random() < 0.5 else ""),
    ]
    stock = [kind for kind, p in (("why", 0.75), ("big", 0.5), ("bullets", 0.45)) if rng.random() < p]
    rng.shuffle(stock)
    if "why" in stock:  # "Why it matters" belongs near the top
        stock.remove("why")
        paragraphs.append(_stock_paragraph(pick, "why", ents))
    closing = _stock_paragraph(pick, "next", ents) if rng.random() < 0.7 else pick.say("context", ents)
    closing_words = _words_in(closing)
    count = _word_count(paragraphs)
    while count + closing_words < target:
        if stock and rng.random() < 0.3:
            paragraph = _stock_paragraph(pick, stock.pop(), ents)
        else:
            paragraph = _middle_paragraph(pick, topic, ents)
        paragraphs.append(paragraph)
        count += _words_in(paragraph)
    paragraphs.append(closing)
    count += closing_words
    while count > hi and len(paragraphs) > 2:
        count -= _words_in(paragraphs.pop(-2))
    for attempt in range(12):  # short of ``lo`` (a narrow range): add single sentences that fit
        if count >= lo:
            break
        sentence = pick.say("context" if attempt % 2 else f"{topic}:detail", ents)
        if count + _words_in(sentence) <= hi or attempt == 11:
            paragraphs.insert(len(paragraphs) - 1, sentence)
            count += _words_in(sentence)
    return Story(
        title=title,
        paragraphs=tuple(paragraphs),
        entities=dict(story_ents),
        topic=topic,
        templates=frozenset(pick.used),
    )


def generate_story(
    rng: random.Random, words: tuple[int, int] = (300, 800), topic: str | None = None
) -> Story:
    """Write a new, realistic news story with fresh entities.

    Args:
        rng: The random source; the story is a pure function of its state.
        words: Inclusive bounds on the body's word count (a range narrower than a sentence or two,
            about 20 words, may be missed by a few words).
        topic: One of :data:`TOPICS`, or ``None`` for a random one.

    Returns:
        The story.
    """
    chosen = topic if topic is not None else rng.choice(TOPICS)
    return _compose(rng, chosen, make_entities(rng, chosen), words)


def same_event_story(story: Story, rng: random.Random, words: tuple[int, int] | None = None) -> Story:
    """Independently write another story about the same event.

    It keeps the topic and every entity (names, places, numbers, dates) but uses none of the original's
    templates, so the sentences are fresh.

    Args:
        story: The story to echo.
        rng: The random source.
        words: Word-count bounds; by default around the original's length.

    Returns:
        The new story.
    """
    if words is None:
        count = story.word_count
        words = (max(150, count - 150), count + 150)
    return _compose(rng, story.topic, story.entities, words, exclude=story.templates)


# --------------------------------------------------------------------------------------------------
# Measuring overlap
# --------------------------------------------------------------------------------------------------

_WORD: Final = re.compile(r"\w+")
_TAG: Final = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<[^>]+>", re.S | re.I)


def word_ngrams(text: str, n: int = 3) -> set[tuple[str, ...]]:
    """The set of lowercase word n-grams of a text.

    Args:
        text: Any text.
        n: Words per gram.

    Returns:
        The n-grams.
    """
    tokens = _WORD.findall(text.lower())
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: str, b: str, n: int = 3) -> float:
    """Jaccard similarity of two texts' lowercase word n-gram sets.

    Args:
        a: One text.
        b: The other text.
        n: Words per gram.

    Returns:
        Intersection over union, 0.0 when both are empty.
    """
    grams_a, grams_b = word_ngrams(a, n), word_ngrams(b, n)
    union = len(grams_a | grams_b)
    return len(grams_a & grams_b) / union if union else 0.0


def article_body(article: Mapping[str, Any]) -> str:
    """An article's body as plain text: ``text``, or ``html`` with tags, scripts and styles removed.

    Args:
        article: A record.

    Returns:
        The text.
    """
    if article.get("text") is not None:
        return str(article["text"])
    return html_lib.unescape(_TAG.sub(" ", str(article.get("html", ""))))


# --------------------------------------------------------------------------------------------------
# Spinning: synonyms, stock-phrase rewording, publisher promo lines
# --------------------------------------------------------------------------------------------------

#: Word-level synonyms used by the ``spun`` and ``edited`` copies (``_`` is a space).
SYNONYMS: Final[dict[str, str]] = dict(
    pair.split(":")
    for pair in _words(
        """largest:biggest biggest:largest said:stated told:informed announced:unveiled unveiled:revealed
        revealed:disclosed confirmed:verified expected:anticipated plan:scheme increase:rise
        rise:increase jump:surge drop:fall decline:slide fall:dip growing:rising mounting:escalating
        pressure:strain criticism:censure decision:ruling move:step company:firm firm:company
        organisation:organization group:body officials:authorities people:individuals report:study
        figures:numbers numbers:figures data:statistics estimated:projected costs:expenses
        roughly:approximately about:around around:about nearly:almost almost:nearly however:nevertheless
        although:though also:additionally major:significant significant:substantial new:fresh
        latest:newest first:initial final:ultimate help:assist begin:commence start:launch
        show:demonstrate shows:demonstrates suggest:indicate suggests:indicates confident:sure
        optimistic:upbeat hopeful:positive risky:hazardous bold:daring smart:clever bet:wager gamble:punt
        priority:focus focus:emphasis job:task quickly:rapidly fast:swiftly warned:cautioned
        added:continued noted:observed argued:contended insisted:maintained admitted:conceded
        acknowledged:recognised conceded:granted replied:responded promising:pledging pledged:vowed
        reviewed:examined obtained:acquired shared:provided published:released released:issued
        issued:put_out statement:declaration meeting:gathering event:occasion briefing:update
        interview:conversation news:reports announcement:declaration critics:detractors
        supporters:backers opponents:adversaries experts:specialists analysts:observers
        observers:watchers residents:locals families:households community:neighbourhood region:area
        huge:enormous big:large small:little modest:moderate strong:robust steady:stable sharp:steep
        rapid:swift sweeping:broad ambitious:aspirational controversial:contentious
        long-awaited:eagerly_awaited important:crucial key:crucial main:primary clearest:plainest
        sign:signal signal:indication precedent:benchmark benchmark:yardstick broader:wider wider:broader
        trend:tendency shift:change reform:overhaul overhaul:revamp effort:attempt
        efforts:attempts results:outcomes result:outcome outcome:result affect:influence affected:impacted
        benefit:gain risks:dangers worried:concerned fear:dread concerns:worries
        problem:difficulty issue:matter question:query debate:discussion discussion:debate deal:agreement
        talks:negotiations backed:supported opposed:resisted approve:endorse vote:ballot
        funding:financing money:funds invest:put_money spending:expenditure jobs:positions staff:employees
        employees:workers workers:staff hired:recruited leaders:heads director:head team:squad fans:supporters
        season:campaign match:game players:athletes study:research researchers:scientists
        scientists:researchers found:discovered findings:results evidence:proof trial:test
        exhibition:show audience:crowd visitors:guests festival:celebration tickets:passes
        product:offering rollout:launch users:customers customers:clients shares:stock profit:earnings
        revenue:sales sales:revenue prices:rates demand:appetite growth:expansion bill:legislation
        government:administration minister:secretary election:poll voters:electorate strategy:approach
        rules:regulations regulators:watchdogs timetable:schedule schedule:timeline delays:hold-ups
        setbacks:reversals quarter:period surge:spike spike:jump gathered:assembled marched:paraded
        warehouse:depot headquarters:head_office campaigners:activists
        protesters:demonstrators venue:site crowd:audience chamber:house lawmakers:legislators
        advocates:champions launched:introduced cut:reduce cuts:reductions"""
    )
)

#: Stock phrases and set expressions reworded by the ``spun`` copy.
PHRASES: Final[dict[str, str]] = {
    "Why it matters:": "Why is this important:",
    "The big picture:": "The broader context:",
    "What’s next:": "What comes next:",
    "By the numbers:": "The numbers at a glance:",
    "according to": "as reported by",
    "in a statement": "in a written statement",
    "more than": "over",
    "as early as": "as soon as",
    "declined to comment": "would not comment",
    "in recent months": "over the last few months",
    "in the coming weeks": "over the next few weeks",
    "for the first time": "for the very first time",
    "said on": "stated on",
}

_HELD: Final = re.compile("\x00(\\d+)\x00")
_PHRASE_RE: Final = re.compile("|".join(re.escape(phrase) for phrase in PHRASES))


def _match_case(word: str, replacement: str) -> str:
    """``replacement`` capitalised like ``word``."""
    if word[:1].isupper():
        if word.isupper() and len(word) > 1:
            return replacement.upper()
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _spin_table() -> dict[str, str]:
    """Space-separated token to its replacement: every synonym in three cases, with trailing punctuation."""
    table: dict[str, str] = {}
    for word, synonym in SYNONYMS.items():
        for cased in (word, word.capitalize(), word.upper()):
            for tail in ("", ",", ".", ":", ";", "”", ",”", ".”"):
                table.setdefault(cased + tail, _match_case(cased, synonym) + tail)
    return table


_SPIN_TABLE: Final = _spin_table()


def spin_text(text: str, rng: random.Random, rate: float = 0.8) -> str:
    """Reword a text: stock phrases always, each synonym-table word with probability ``rate``.

    Args:
        text: The text.
        rng: The random source.
        rate: Chance that one occurrence of a known word is replaced.

    Returns:
        The spun text.
    """
    phrases: list[str] = []

    def hold(match: re.Match[str]) -> str:
        phrases.append(PHRASES[match.group(0)])
        return f"\x00{len(phrases) - 1}\x00"

    text = _PHRASE_RE.sub(hold, text)  # reworded phrases are not spun again
    tokens = text.split(" ")
    rand = rng.random
    table = _SPIN_TABLE
    for i, token in enumerate(tokens):
        replacement = table.get(token)
        if replacement is not None and rand() < rate:
            tokens[i] = replacement
    text = " ".join(tokens)
    return _HELD.sub(lambda m: phrases[int(m.group(1))], text) if phrases else text


def mojibake(text: str) -> str:
    """Damage text the way a UTF-8 page read as Windows-1252 is damaged (``’`` becomes ``â€™``).

    Args:
        text: Clean text.

    Returns:
        The garbled text; bytes that cp1252 cannot decode become U+FFFD.
    """
    return text.encode("utf-8").decode("cp1252", errors="replace")


_PLATFORMS: Final = ("X", "Facebook", "Instagram", "LinkedIn", "Mastodon", "Threads", "WhatsApp")


def promo_lines(rng: random.Random, publisher: str, site: str, related: str) -> tuple[list[str], list[str]]:
    """A publisher's lines around a syndicated story.

    Args:
        rng: The random source.
        publisher: Display name, e.g. ``Example Media``.
        site: The publisher's domain.
        related: A headline for the ``Read more:`` line.

    Returns:
        Lines to put before the story and lines to put after it.
    """
    before = rng.choice(
        (
            [],
            [f"This story is republished by {publisher} under a content-sharing agreement."],
            [f"Subscribe to the {publisher} newsletter for the day’s top stories."],
        )
    )
    after = [
        rng.choice(("Like this article? Share it with friends.", "Like this story? Share it with friends.")),
        f"Read more: {related}",
        rng.choice(
            (
                f"Subscribe to our newsletter at {site}/newsletter — it’s free.",
                f"Sign up for the {publisher} newsletter to get stories like this one.",
                "Subscribe to our newsletter for the latest news.",
            )
        ),
        f"Follow us on {rng.choice(_PLATFORMS)} and {rng.choice(_PLATFORMS[:3])} for breaking news.",
        f"© 2026 {publisher}. All rights reserved.",
    ]
    rng.shuffle(after)
    after.append(after.pop(after.index(f"© 2026 {publisher}. All rights reserved.")))  # copyright last
    return before, after


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------

#: Copy kinds made by :func:`make_copy` (every one is a true duplicate of its original).
ALL_COPY_KINDS: Final = ("exact", "recrawl", "syndicated", "edited", "spun", "excerpt", "html", "mojibake")
#: Every ``label_kind`` value.
LABEL_KINDS: Final = ("original", *ALL_COPY_KINDS, "same_event")

_EPOCH: Final = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
_SLUG_WORD: Final = re.compile(r"[a-z0-9]+")
_NUMBER: Final = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z``, to the second.

    Args:
        moment: An aware datetime.

    Returns:
        For example ``2026-01-05T06:00:00Z``.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(value: str) -> datetime:
    """Parse what :func:`iso` writes (and other ISO-8601 forms)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _slug(title: str) -> str:
    """A URL slug from a headline."""
    return "-".join(_SLUG_WORD.findall(title.lower().replace("’", ""))[:9]) or "story"


def _new_id(rng: random.Random) -> str:
    """A random article id."""
    return f"{rng.getrandbits(64):016x}"


def _record(
    *,
    rng: random.Random,
    url: str,
    title: str,
    source: str,
    published: datetime,
    cluster: str,
    kind: str,
    text: str | None = None,
    html: str | None = None,
) -> Article:
    """One record in the stream's field order, with exactly one of ``text`` and ``html``."""
    record: Article = {"id": _new_id(rng), "url": url, "title": title}
    if html is not None:
        record["html"] = html
    else:
        record["text"] = text or ""
    record.update(source=source, published_at=iso(published), label_cluster=cluster, label_kind=kind)
    return record


def make_original(story: Story, rng: random.Random, published: datetime | None = None) -> Article:
    """Publish a story as an ``original`` article of a new cluster.

    Args:
        story: The story.
        rng: The random source (site, ids, time).
        published: Publication time; random in early 2026 by default.

    Returns:
        The record.
    """
    site = random_site(rng)
    when = published or _EPOCH + timedelta(seconds=rng.randint(0, 90 * 86400))
    url = f"https://{site}/{story.topic}/{when:%Y/%m/%d}/{_slug(story.title)}-{rng.randint(10000, 99999)}"
    cluster = f"story-{rng.getrandbits(48):012x}"
    return _record(
        rng=rng,
        url=url,
        title=story.title,
        text=story.text,
        source=site,
        published=when,
        cluster=cluster,
        kind="original",
    )


def _other_site(rng: random.Random, avoid: str) -> str:
    """A publisher domain different from ``avoid``."""
    while True:
        site = random_site(rng)
        if site != avoid:
            return site


def _copy_url(rng: random.Random, site: str, title: str) -> str:
    """Where another publisher puts its copy of a story."""
    slug = _slug(title)
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"https://{site}/news/{slug}"
    if pattern == 1:
        return f"https://www.{site}/story/{slug}-{rng.randint(100000, 999999)}"
    if pattern == 2:
        return f"https://{site}/article/{rng.randint(10**6, 10**7)}/{slug}.html"
    return f"https://{site}/wire/{rng.getrandbits(32):08x}"


def _later(article: Mapping[str, Any], rng: random.Random, max_hours: float = 48.0) -> datetime:
    """A moment a little after the article was published."""
    delay = timedelta(seconds=rng.randint(60, int(max_hours * 3600)))
    return _parse_iso(str(article["published_at"])) + delay


def _paragraphs(article: Mapping[str, Any]) -> list[str]:
    """An article's paragraphs, from ``text`` or from the ``<p>`` elements of ``html``."""
    if article.get("text") is not None:
        return [p for p in str(article["text"]).split("\n\n") if p.strip()]
    found = re.findall(r"<p>(.*?)</p>", str(article.get("html", "")), re.S)
    return [html_lib.unescape(p.replace("<br>", "\n")) for p in found]


_MONEY_RE: Final = re.compile(r"\$\d+(?:\.\d)? (?:billion|million)")
_PERCENT_RE: Final = re.compile(r"\b\d+ percent\b")
_NAME_RE: Final = re.compile(r"\b([A-Z][a-z]+) ([A-Z][a-z’]+(?:[A-Z][a-z]+)?)\b")


def story_from_article(article: Mapping[str, Any], rng: random.Random) -> Story:
    """Recover a story from a record, with entities recognised in its text where possible.

    Used when a copy maker gets only a record (no :class:`Story`): names, amounts, percentages and
    cities found in the text replace freshly drawn entities, and the topic comes from the URL path.

    Args:
        article: A record.
        rng: The random source for entities that cannot be recognised.

    Returns:
        A story with the record's title and paragraphs.
    """
    paragraphs = _paragraphs(article)
    text = "\n\n".join(paragraphs)
    path = str(article.get("url", "")).split("/")
    topic = next((part for part in path if part in _TOPICS), None) or rng.choice(TOPICS)
    ents = make_entities(rng, topic)
    firsts = set(FIRST_NAMES)
    people: list[tuple[str, str]] = []
    for first, last in _NAME_RE.findall(text):
        if first in firsts and (first, last) not in people:
            people.append((first, last))
    for i, (first, last) in enumerate(people[:3]):
        ents[f"P{i + 1}"], ents[f"P{i + 1}L"] = f"{first} {last}", last
    if money := _MONEY_RE.search(text):
        ents["N1"] = money.group(0)
    if percent := _PERCENT_RE.search(text):
        ents["N2"] = percent.group(0)
    cities = [city for city in CITIES if city in text]
    if cities:
        ents["CITY"] = cities[0]
    title = str(article.get("title", ""))
    return Story(title=title, paragraphs=tuple(paragraphs), entities=ents, topic=topic)


Source = Story | Mapping[str, Any]


def _resolve(source: Source, rng: random.Random, story: Story | None) -> tuple[Article, Story | None]:
    """The original record and, when known, its story."""
    if isinstance(source, Story):
        return make_original(source, rng), source
    return dict(source), story


# --------------------------------------------------------------------------------------------------
# Copy makers: (article or story, rng) -> record
# --------------------------------------------------------------------------------------------------


def copy_exact(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """The same text republished on another site under another URL.

    Args:
        source: The original record, or a story (then published first as a new original).
        rng: The random source.
        story: The original's story, if known (unused here; accepted for a uniform signature).
        published: Publication time; by default a little after the original's.

    Returns:
        The ``exact`` copy.
    """
    original, _ = _resolve(source, rng, story)
    site = _other_site(rng, original["source"])
    return _record(
        rng=rng,
        url=_copy_url(rng, site, original["title"]),
        title=original["title"],
        text=article_body(original),
        source=site,
        published=published or _later(original, rng),
        cluster=original["label_cluster"],
        kind="exact",
    )


_TRACKING: Final = (
    ("utm_source", ("twitter", "facebook", "newsletter", "rss", "google", "linkedin")),
    ("utm_medium", ("social", "email", "referral", "cpc", "feed")),
    ("utm_campaign", ("morning_brief", "breaking", "weekend_reads", "push")),
    ("fbclid", ()),
    ("gclid", ()),
)


def copy_recrawl(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """The same page fetched again through a link with tracking parameters.

    The URL gains ``utm_*``, ``fbclid`` or ``gclid`` parameters, maybe a ``#fragment``, maybe an
    upper-case host; the source and the text stay the same.

    Args:
        source: The original record, or a story.
        rng: The random source.
        story: Unused; accepted for a uniform signature.
        published: Publication time; by default a little after the original's.

    Returns:
        The ``recrawl`` copy.
    """
    original, _ = _resolve(source, rng, story)
    url = str(original["url"])
    chosen = [item for item in _TRACKING if rng.random() < 0.5] or [rng.choice(_TRACKING)]
    params = []
    for name, values in chosen:
        value = rng.choice(values) if values else f"{rng.getrandbits(80):020x}"
        params.append(f"{name}={value}")
    url += ("&" if "?" in url else "?") + "&".join(params)
    if rng.random() < 0.35:
        url += rng.choice(("#comments", "#top", "#main", "#article-body"))
    if rng.random() < 0.3:
        scheme, rest = url.split("://", 1)
        host, _, path = rest.partition("/")
        url = f"{scheme}://{host.upper()}/{path}"
    return _record(
        rng=rng,
        url=url,
        title=original["title"],
        text=article_body(original),
        source=original["source"],
        published=published or _later(original, rng, 12),
        cluster=original["label_cluster"],
        kind="recrawl",
    )


def _related_headline(rng: random.Random) -> str:
    """A headline of some other, made-up story (for ``Read more:`` lines and asides)."""
    topic = rng.choice(TOPICS)
    ents = _Mentions(make_entities(rng, topic), rng)
    return _fill(_BANK[rng.choice(_POOLS[f"{topic}:title"])], rng, ents)


def copy_syndicated(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """The same text on a partner site, wrapped in that publisher's promo and copyright lines.

    Args:
        source: The original record, or a story.
        rng: The random source.
        story: Unused; accepted for a uniform signature.
        published: Publication time; by default a little after the original's.

    Returns:
        The ``syndicated`` copy.
    """
    original, _ = _resolve(source, rng, story)
    site = _other_site(rng, original["source"])
    before, after = promo_lines(rng, _publisher_name(rng), site, _related_headline(rng))
    if rng.random() < 0.5:
        before.append(f"This article originally appeared on {original['source']}.")
    text = "\n\n".join([*before, article_body(original), *after])
    return _record(
        rng=rng,
        url=_copy_url(rng, site, original["title"]),
        title=original["title"],
        text=text,
        source=site,
        published=published or _later(original, rng),
        cluster=original["label_cluster"],
        kind="syndicated",
    )


def _nudge_number(match: re.Match[str], rng: random.Random) -> str:
    """A plausible replacement for one number in a text."""
    raw = match.group(0)
    if "." in raw:
        whole, frac = raw.split(".")
        return f"{whole}.{(int(frac) + rng.randint(1, 8)) % 10}"
    value = int(raw.replace(",", ""))
    if 1990 <= value <= 2040:  # a year: leave it
        return raw
    changed = value + rng.choice((-1, 1)) * max(1, round(value * rng.uniform(0.03, 0.15)))
    return f"{max(changed, 0):,}" if "," in raw else str(max(changed, 0))


def _change_numbers(paragraphs: list[str], rng: random.Random, how_many: int) -> None:
    """Change ``how_many`` numbers of the paragraphs (in place)."""
    found = [(i, m) for i, paragraph in enumerate(paragraphs) for m in _NUMBER.finditer(paragraph)]
    for i, match in sorted(rng.sample(found, min(how_many, len(found))), key=lambda x: (x[0], -x[1].start())):
        paragraph = paragraphs[i]
        paragraphs[i] = paragraph[: match.start()] + _nudge_number(match, rng) + paragraph[match.end() :]


_SENTENCE_END: Final = re.compile(r"(?<=[.!?”])\s+(?=[A-Z“])")


def copy_edited(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """A lightly edited version: a paragraph dropped, one added, a few numbers changed, a sentence reworded.

    Args:
        source: The original record, or a story.
        rng: The random source.
        story: The original's story, used to write the added paragraph about the same entities.
        published: Publication time; by default a little after the original's.

    Returns:
        The ``edited`` copy.
    """
    original, known = _resolve(source, rng, story)
    base = known or story_from_article(original, rng)
    paragraphs = _paragraphs(original)
    if len(paragraphs) > 3:
        del paragraphs[rng.randrange(2, len(paragraphs) - 1)]
    pick = _Picker(rng, base.templates)
    added = _middle_paragraph(pick, base.topic, _Mentions(base.entities, rng))
    paragraphs.insert(rng.randint(1, max(1, len(paragraphs) - 1)), added)
    _change_numbers(paragraphs, rng, rng.randint(2, 4))
    target = rng.randrange(len(paragraphs))
    sentences = _SENTENCE_END.split(paragraphs[target])
    k = rng.randrange(len(sentences))
    sentences[k] = spin_text(sentences[k], rng, rate=1.0)
    paragraphs[target] = " ".join(sentences)
    site = _other_site(rng, original["source"])
    title = spin_text(original["title"], rng, rate=0.5) if rng.random() < 0.4 else original["title"]
    return _record(
        rng=rng,
        url=_copy_url(rng, site, title),
        title=title,
        text="\n\n".join(paragraphs),
        source=site,
        published=published or _later(original, rng),
        cluster=original["label_cluster"],
        kind="edited",
    )


def copy_spun(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """A content-farm rewrite: synonyms, reworded stock phrases, its own promo lines, other bullets.

    With probability 0.5 the result is also run through :func:`mojibake`.

    Args:
        source: The original record, or a story.
        rng: The random source.
        story: Unused; accepted for a uniform signature.
        published: Publication time; by default a little after the original's.

    Returns:
        The ``spun`` copy.
    """
    original, _ = _resolve(source, rng, story)
    site = _other_site(rng, original["source"])
    before, after = promo_lines(rng, _publisher_name(rng), site, _related_headline(rng))
    body = spin_text(article_body(original), rng).replace("• ", rng.choice(("- ", "* ", "– ")))
    text = "\n\n".join([*before, body, *after])
    title = spin_text(original["title"], rng)
    if rng.random() < 0.5:
        text, title = mojibake(text), mojibake(title)
    return _record(
        rng=rng,
        url=_copy_url(rng, site, title),
        title=title,
        text=text,
        source=site,
        published=published or _later(original, rng, 96),
        cluster=original["label_cluster"],
        kind="spun",
    )


def copy_mojibake(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """The same text with broken encoding (UTF-8 read as cp1252), so ``“`` shows as ``â€œ``.

    Args:
        source: The original record, or a story.
        rng: The random source.
        story: Unused; accepted for a uniform signature.
        published: Publication time; by default a little after the original's.

    Returns:
        The ``mojibake`` copy.
    """
    original, _ = _resolve(source, rng, story)
    site = _other_site(rng, original["source"])
    return _record(
        rng=rng,
        url=_copy_url(rng, site, original["title"]),
        title=mojibake(original["title"]),
        text=mojibake(article_body(original)),
        source=site,
        published=published or _later(original, rng),
        cluster=original["label_cluster"],
        kind="mojibake",
    )


def copy_excerpt(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """An aggregator's excerpt: the first half of the paragraphs and a ``Read more at`` line.

    Args:
        source: The original record, or a story.
        rng: The random source.
        story: Unused; accepted for a uniform signature.
        published: Publication time; by default a little after the original's.

    Returns:
        The ``excerpt`` copy.
    """
    original, _ = _resolve(source, rng, story)
    paragraphs = _paragraphs(original)
    keep = paragraphs[: max(1, (len(paragraphs) + 1) // 2)]
    keep.append(f"Read more at {original['source']}")
    site = _other_site(rng, original["source"])
    return _record(
        rng=rng,
        url=_copy_url(rng, site, original["title"]),
        title=original["title"],
        text="\n\n".join(keep),
        source=site,
        published=published or _later(original, rng, 24),
        cluster=original["label_cluster"],
        kind="excerpt",
    )


_NAV: Final = _words("Home World Business Politics Technology Sport Science Culture Opinion")


def render_page(
    title: str,
    paragraphs: Sequence[str],
    *,
    site: str,
    url: str,
    publisher: str,
    published: str,
    related: Sequence[str],
) -> str:
    """A full HTML page around an article body.

    Args:
        title: The headline.
        paragraphs: Body paragraphs, one ``<p>`` each (line breaks become ``<br>``).
        site: The publisher's domain.
        url: The canonical URL.
        publisher: The publisher's display name.
        published: ISO-8601 publication time.
        related: Headlines for the aside.

    Returns:
        The page.
    """
    esc = html_lib.escape
    description = esc(paragraphs[0][:160] if paragraphs else title)
    nav = "".join(f'<li><a href="/{item.lower()}">{item}</a></li>' for item in _NAV)
    body = "\n".join(f"<p>{esc(p, quote=False).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    aside = "".join(f'<li><a href="/news/{_slug(h)}">{esc(h, quote=False)}</a></li>' for h in related)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title, quote=False)} | {esc(publisher)}</title>
<meta name="description" content="{description}">
<meta property="og:title" content="{esc(title)}">
<meta property="og:site_name" content="{esc(publisher)}">
<link rel="canonical" href="{esc(url)}">
<style>body{{font-family:Georgia,serif;margin:0}}.cookie-banner{{position:fixed;bottom:0;width:100%}}</style>
<script>window.dataLayer = window.dataLayer || [];
window.dataLayer.push({{"event": "pageview", "site": "{site}"}});</script>
</head>
<body>
<header class="site-header"><a class="logo" href="/">{esc(publisher)}</a><nav><ul>{nav}</ul></nav></header>
<main>
<article>
<h1>{esc(title, quote=False)}</h1>
<div class="byline">By {esc(publisher)} staff · <time datetime="{published}">{published[:10]}</time></div>
{body}
</article>
<aside class="related"><h2>Related stories</h2><ul>{aside}</ul></aside>
</main>
<footer><p>© 2026 {esc(publisher)}. All rights reserved.</p>
<a href="/privacy">Privacy</a> · <a href="/terms">Terms</a></footer>
<div id="cookie-banner" class="cookie-banner">We use cookies to improve your experience.
<button>Accept all</button> <button>Manage</button></div>
<script src="https://{site}/static/app.js" defer></script>
</body>
</html>
"""


def copy_html(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """The same article as a full HTML page on another site (the record has ``html``, not ``text``).

    Args:
        source: The original record, or a story.
        rng: The random source.
        story: Unused; accepted for a uniform signature.
        published: Publication time; by default a little after the original's.

    Returns:
        The ``html`` copy.
    """
    original, _ = _resolve(source, rng, story)
    site = _other_site(rng, original["source"])
    url = _copy_url(rng, site, original["title"])
    when = published or _later(original, rng)
    page = render_page(
        original["title"],
        _paragraphs(original),
        site=site,
        url=url,
        publisher=_publisher_name(rng),
        published=iso(when),
        related=[_related_headline(rng) for _ in range(rng.randint(3, 5))],
    )
    return _record(
        rng=rng,
        url=url,
        title=original["title"],
        html=page,
        source=site,
        published=when,
        cluster=original["label_cluster"],
        kind="html",
    )


def make_same_event(
    source: Source, rng: random.Random, *, story: Story | None = None, published: datetime | None = None
) -> Article:
    """A new, independently written story about the same event: a negative, not a duplicate.

    It reuses the original's names, places and numbers but none of its sentence templates, and starts
    a cluster of its own.

    Args:
        source: The original record, or a story.
        rng: The random source.
        story: The original's story; recovered from the record's text when not given.
        published: Publication time; by default a little after the original's.

    Returns:
        The ``same_event`` record.
    """
    original, known = _resolve(source, rng, story)
    base = known or story_from_article(original, rng)
    fresh = same_event_story(base, rng)
    record = make_original(fresh, rng, published=published or _later(original, rng))
    record["label_kind"] = "same_event"
    return record


class CopyMaker(Protocol):
    """The signature every copy maker shares."""

    def __call__(
        self,
        source: Source,
        rng: random.Random,
        *,
        story: Story | None = None,
        published: datetime | None = None,
    ) -> Article:
        """Make a copy of ``source`` (see :func:`make_copy`)."""
        ...


#: Copy maker by kind (``same_event`` included, though it is not a duplicate).
COPY_MAKERS: Final[dict[str, CopyMaker]] = {
    "exact": copy_exact,
    "recrawl": copy_recrawl,
    "syndicated": copy_syndicated,
    "edited": copy_edited,
    "spun": copy_spun,
    "excerpt": copy_excerpt,
    "html": copy_html,
    "mojibake": copy_mojibake,
    "same_event": make_same_event,
}


def make_copy(
    kind: str,
    source: Source,
    rng: random.Random,
    *,
    story: Story | None = None,
    published: datetime | None = None,
) -> Article:
    """Make one copy of ``kind`` (any of :data:`ALL_COPY_KINDS` or ``same_event``).

    Args:
        kind: The copy kind.
        source: The original record, or a story.
        rng: The random source.
        story: The original's story, if known.
        published: Publication time; by default a little after the original's.

    Returns:
        The record.

    Raises:
        ValueError: For an unknown kind.
    """
    maker = COPY_MAKERS.get(kind)
    if maker is None:
        raise ValueError(f"unknown copy kind {kind!r}; expected one of {', '.join(COPY_MAKERS)}")
    return maker(source, rng, story=story, published=published)


# --------------------------------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------------------------------


def generate_stream(
    n: int,
    duplicate_share: float = 0.3,
    seed: int = 0,
    kinds: Sequence[str] = ALL_COPY_KINDS,
    words: tuple[int, int] = (300, 800),
    same_event_share: float = 0.05,
) -> Iterator[Article]:
    """Yield ``n`` articles in stream (publication) order: originals, their copies, same-event stories.

    About ``duplicate_share`` of the articles are copies, the kinds dealt out evenly; about
    ``same_event_share`` are same-event stories (new clusters). Every copy and same-event story comes
    at a random later position than its original. The stream is a pure function of the arguments.

    Args:
        n: Number of articles.
        duplicate_share: Share of articles that are copies (true duplicates).
        seed: Seed for everything.
        kinds: Copy kinds to use (subset of :data:`ALL_COPY_KINDS`).
        words: Word-count bounds of each story.
        same_event_share: Share of articles that are same-event stories.

    Yields:
        Records, in order.

    Raises:
        ValueError: For an unknown kind or shares outside [0, 1].
    """
    unknown = [kind for kind in kinds if kind not in ALL_COPY_KINDS]
    if unknown:
        raise ValueError(f"unknown copy kinds: {unknown}")
    if not (0 <= duplicate_share <= 1 and 0 <= same_event_share <= 1):
        raise ValueError("shares must be between 0 and 1")
    if n <= 0:
        return
    rng = random.Random(seed)
    n_copies = round(n * duplicate_share) if kinds else 0
    n_same = round(n * same_event_share)
    n_copies = min(n_copies, n - 1)
    n_same = min(n_same, n - 1 - n_copies)
    n_originals = n - n_copies - n_same
    span = n * 60.0  # one article a minute on average
    mean_delay = min(6 * 3600.0, span / 5)
    # Plan: (time, sequence, kind, parent index, seed); originals are their own parents.
    times = [rng.random() * span for _ in range(n_originals)]
    plan: list[tuple[float, int, str, int, int]] = [
        (t, i, "original", i, rng.getrandbits(64)) for i, t in enumerate(times)
    ]
    copy_kinds = [kinds[i % len(kinds)] for i in range(n_copies)] + ["same_event"] * n_same
    rng.shuffle(copy_kinds)
    pending = [0] * n_originals
    for j, kind in enumerate(copy_kinds):
        parent = rng.randrange(n_originals)
        pending[parent] += 1
        delay = 30.0 + min(rng.expovariate(1 / mean_delay), 3 * 86400.0)
        plan.append((times[parent] + delay, n_originals + j, kind, parent, rng.getrandbits(64)))
    plan.sort()
    live: dict[int, tuple[Story, Article]] = {}
    for t, _, kind, parent, item_seed in plan:
        when = _EPOCH + timedelta(seconds=t)
        if kind == "original":
            item_rng = random.Random(item_seed)
            story = generate_story(item_rng, words)
            article = make_original(story, item_rng, published=when)
            if pending[parent]:
                live[parent] = (story, article)
            yield article
            continue
        story, original = live[parent]
        pending[parent] -= 1
        if not pending[parent]:
            del live[parent]
        yield COPY_MAKERS[kind](original, random.Random(item_seed), story=story, published=when)


def write_jsonl(articles: Iterator[Article] | Sequence[Article], path: Path) -> int:
    """Write records as JSON lines (UTF-8, non-ASCII kept).

    Args:
        articles: The records.
        path: The output file; its folder is created.

    Returns:
        Number of records written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for article in articles:
            out.write(json.dumps(article, ensure_ascii=False) + "\n")
            count += 1
    return count


#: Where :func:`main` writes the bundled sample.
SAMPLE_PATH: Final = Path(__file__).resolve().parents[1] / "data" / "sample_articles.jsonl"
SAMPLE_SIZE: Final = 120
SAMPLE_SEED: Final = 2026


def sample_articles() -> list[Article]:
    """The bundled sample: 120 articles, seed 2026, every copy kind at least 4 times, 6+ same-event.

    Returns:
        The records, in stream order.

    Raises:
        RuntimeError: If the sample misses its per-kind minimums.
    """
    stream = generate_stream(SAMPLE_SIZE, duplicate_share=0.35, seed=SAMPLE_SEED, same_event_share=0.07)
    articles = list(stream)
    counts = {kind: sum(1 for a in articles if a["label_kind"] == kind) for kind in LABEL_KINDS}
    short = [kind for kind in ALL_COPY_KINDS if counts[kind] < 4]
    if short or counts["same_event"] < 6:
        raise RuntimeError(f"sample is missing kinds: {counts}")
    return articles


def main() -> None:
    """Write the bundled sample to :data:`SAMPLE_PATH` and print its kind counts."""
    articles = sample_articles()
    write_jsonl(articles, SAMPLE_PATH)
    counts = {kind: sum(1 for a in articles if a["label_kind"] == kind) for kind in LABEL_KINDS}
    print(f"wrote {len(articles)} articles to {SAMPLE_PATH}: {counts}")


if __name__ == "__main__":
    main()


# --------------------------------------------------------------------------------------------------
# Same-template pages: different stories in one site's page chrome
# --------------------------------------------------------------------------------------------------


_BRIEFING: Final = (
    "The day's top stories from our newsroom, in your inbox every morning. Enter your email address"
)
_THANKS: Final = "Thanks for contacting us. We've received your submission and will get back to you shortly."


@dataclass(frozen=True, slots=True)
class SiteTemplate:
    """One site's page chrome, the same on every page of the site.

    The chrome is what real pages carry around the story and extractors often keep: a long navigation,
    rails of teasers (headlines of other stories, with a line of summary), a most-popular list, a
    newsletter box, a "Thanks for contacting us" modal, related links, a cookie banner, a standard
    disclaimer paragraph and a footer. No class or id names a hint (nav, related, footer, ...), so a
    container-hint extractor keeps most of it, as on the real pages that motivated this data.
    """

    site: str
    publisher: str
    nav: tuple[str, ...]
    teasers: tuple[tuple[str, str], ...]  # (headline, summary)
    popular: tuple[str, ...]
    related: tuple[str, ...]
    disclaimer: str

    def chrome_blocks(self) -> list[str]:
        """The chrome as text blocks (one a line), in page order: what an extractor that keeps it yields."""
        blocks = [" ".join(self.nav)]
        blocks += [f"{headline}\n{summary}" for headline, summary in self.teasers]
        blocks += ["Most popular", *self.popular]
        blocks += [
            f"Get the {self.publisher} briefing",
            _BRIEFING,
            _THANKS,
        ]
        blocks += ["More from this section", *self.related]
        blocks += [self.disclaimer, self.cookies, self.footer]
        return blocks

    @property
    def cookies(self) -> str:
        return f"We and our partners use cookies to personalise content on {self.site}; manage your choices."

    @property
    def footer(self) -> str:
        return f"{self.publisher}. About us · Contact · Careers · Advertise · Terms of use · Privacy · Help"


def make_site_template(rng: random.Random, site: str | None = None) -> SiteTemplate:
    """A site and its page chrome: headlines of other (made-up) stories in its rails.

    Args:
        rng: The random source.
        site: The domain; random by default.

    Returns:
        The template.
    """
    site = site or random_site(rng)
    publisher = _publisher_name(rng)
    sections = _distinct(rng, [*_NAV, "Health", "Travel", "Money", "Weather", "Video", "Local"], 12)
    nav = (*sections, "Subscriptions", "Sign in", "Search")
    teasers = tuple(
        (_related_headline(rng), generate_story(rng, (20, 40)).paragraphs[0])
        for _ in range(rng.randint(4, 6))
    )
    popular = tuple(_related_headline(rng) for _ in range(5))
    related = tuple(_related_headline(rng) for _ in range(4))
    disclaimer = (
        f"{publisher} journalism is independent of its advertisers. Prices and availability quoted in this "
        "article were correct at the time of publication and may change; we may earn a commission when you "
        "buy through links on our site. Information in this article is not financial, legal or medical "
        "advice; consult a professional before acting on it."
    )
    return SiteTemplate(site, publisher, nav, teasers, popular, related, disclaimer)


def template_page_text(template: SiteTemplate, story: Story) -> str:
    """The text an extractor that keeps the chrome gives for ``story`` on ``template``'s page.

    The story's title and paragraphs sit between the teaser rails and the most-popular list, as blocks
    separated by blank lines; this is the pure path's input, independent of any HTML extractor.
    """
    chrome = template.chrome_blocks()
    cut = 1 + len(template.teasers)
    blocks = [*chrome[:cut], story.title, *story.paragraphs, *chrome[cut:]]
    return "\n\n".join(blocks)


def render_template_page(template: SiteTemplate, story: Story, url: str, published: str) -> str:
    """``story`` as a full HTML page of ``template``'s site, its chrome in containers without hint names."""
    esc = html_lib.escape

    def para(text: str) -> str:
        return f"<p>{esc(text, quote=False)}</p>"

    nav = "".join(f'<li><a href="/{_slug(item)}">{esc(item)}</a></li>' for item in template.nav)
    teasers = "".join(
        f'<div class="card"><h3><a href="/news/{_slug(h)}">{esc(h, quote=False)}</a></h3>{para(s)}</div>'
        for h, s in template.teasers
    )
    popular = "".join(
        f'<li><a href="/news/{_slug(h)}">{esc(h, quote=False)}</a></li>' for h in template.popular
    )
    more = "".join(f'<li><a href="/news/{_slug(h)}">{esc(h, quote=False)}</a></li>' for h in template.related)
    body = "\n".join(para(p) for p in story.paragraphs)
    name = esc(template.publisher)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{esc(story.title, quote=False)} | {name}</title>
<link rel="canonical" href="{esc(url)}"></head>
<body>
<div class="top"><a class="logo" href="/">{name}</a><ul class="sections">{nav}</ul></div>
<div class="wrap">
<div class="rail-left">{teasers}</div>
<div class="story">
<h1>{esc(story.title, quote=False)}</h1>
<time datetime="{published}">{published[:10]}</time>
{body}
</div>
<div class="rail-right"><h2>Most popular</h2><ol>{popular}</ol>
<div class="box"><h3>Get the {name} briefing</h3>
{para(_BRIEFING)}
<div class="dialog" hidden>{para(_THANKS)}</div>
</div>
<h2>More from this section</h2><ul>{more}</ul></div>
</div>
<div class="bottom">{para(template.disclaimer)}
{para(template.cookies)}
{para(template.footer)}</div>
</body>
</html>
"""


def same_template_stream(
    seed: int, *, sites: int = 3, stories_per_site: int = 12, words: tuple[int, int] = (40, 400)
) -> list[Article]:
    """Different stories on the pages of a few sites, each site with one template, none a copy of another.

    Every story of a site is a new cluster (no true duplicate), a third of them short (40 to 80 words,
    where the chrome is most of the page), half of the pages HTML (``label_kind`` ``template_html``) and
    half the extracted-looking text with the chrome kept (``template_text``). Pages of the sites are
    interleaved, as a crawler sends them.

    Args:
        seed: The seed; the same seed gives the same pages.
        sites: How many sites.
        stories_per_site: Pages per site.
        words: Word range of the longer stories.

    Returns:
        The records, in stream order.
    """
    rng = random.Random(seed)
    templates = [make_site_template(rng) for _ in range(sites)]
    start = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    pages: list[Article] = []
    for k in range(stories_per_site):
        for template in templates:
            story = generate_story(rng, (40, 80) if k % 3 == 0 else words)
            url = f"https://{template.site}/news/{_slug(story.title)}-{rng.randrange(10**6)}"
            when = start + timedelta(minutes=7 * len(pages))
            as_html = k % 2 == 1
            pages.append(
                _record(
                    rng=rng,
                    url=url,
                    title=story.title,
                    html=render_template_page(template, story, url, iso(when)) if as_html else None,
                    text=None if as_html else template_page_text(template, story),
                    source=template.site,
                    published=when,
                    cluster=f"tpl-{len(pages)}",
                    kind="template_html" if as_html else "template_text",
                )
            )
    return pages
