"""Identity against the real Redis index: an id names one article, and never carries unchecked content."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from streams.agents import encode_decision
from streams.dedup import Deduplicator, index_config
from streams.index import RedisIndex
from streams.models import Decision, SourcePosition
from streams.settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

STORY = (
    "The harbour authority said on Monday that the new container terminal would open in the spring, "
    "two years later than planned, after a dispute over dredging permits delayed the work. "
) * 3
OTHER = (
    "A regional orchestra announced its winter season with three premieres by young composers, "
    "and the conductor said rehearsals would be open to local schools for the first time. "
) * 3


def message(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def decide(settings: Settings, *payloads: bytes) -> list[Decision]:
    async def go() -> list[Decision]:
        index = RedisIndex.from_url(settings.redis_url.get_secret_value(), index_config(settings))
        await index.open()
        engine = Deduplicator(settings, index)
        try:
            return await engine.decide_many([(p, SourcePosition()) for p in payloads])
        finally:
            engine.close()
            await index.close()

    return asyncio.run(go())


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return make_settings(None, redis_url)


def test_the_same_message_again_replays_its_first_decision_byte_for_byte(settings: Settings):
    """Redelivery: the same id, URL and words give the published bytes of the first decision."""
    first = message(id="a", url="https://news.example/a", text=STORY)
    copy = message(id="b", url="https://other.example/b", text=STORY)
    before = [encode_decision(d) for d in decide(settings, first, copy)]
    after = [encode_decision(d) for d in decide(settings, first, copy)]
    assert after == before
    assert [json.loads(b)["id"] for b in before] == ["a", "b"]


def test_a_reused_id_with_other_content_is_rejected_not_replayed(settings: Settings):
    """An id seen with other words is an id_conflict carrying the id; the other story is not published
    as unique under the first decision, and a copy of it sent later under a new id is still new."""
    first, reused = decide(
        settings,
        message(id="a", url="https://news.example/a", text=STORY),
        message(id="a", url="https://news.example/z", text=OTHER),
    )
    assert first.status == "unique"
    assert (reused.status, getattr(reused, "error", None), reused.id) == ("rejected", "id_conflict", "a")
    (later,) = decide(settings, message(id="c", url="https://news.example/c", text=OTHER))
    assert later.status == "unique"  # the rejected story was never indexed under "a"
    # Stable: the conflicting message again is the same rejection.
    (again,) = decide(settings, message(id="a", url="https://news.example/z", text=OTHER))
    assert (again.status, getattr(again, "error", None)) == ("rejected", "id_conflict")


def test_the_same_id_and_words_at_another_canonical_url_is_a_conflict(settings: Settings):
    """The canonical URL is part of what an id names: the same words elsewhere under the id conflict."""
    _, moved = decide(
        settings,
        message(id="m", url="https://news.example/m", text=STORY),
        message(id="m", url="https://elsewhere.example/m", text=STORY),
    )
    assert getattr(moved, "error", None) == "id_conflict"


def test_tracking_parameters_do_not_make_a_conflict(settings: Settings):
    """The same article reached through a campaign link (same canonical URL) replays its decision."""
    first, tracked = decide(
        settings,
        message(id="t", url="https://news.example/t", text=STORY),
        message(id="t", url="https://news.example/t?utm_source=feed", text=STORY),
    )
    assert (first.status, tracked.status) == ("unique", "unique")
    assert tracked.processed_at == first.processed_at


def test_an_updated_page_under_its_default_id_is_an_id_conflict(settings: Settings):
    """No explicit id: the default id hashes the canonical URL, so a page whose words changed is refused
    (id_conflict, its payload kept in the rejection) rather than replayed with the first version's
    decision; a crawler that wants each version decided gives each its own id."""
    first, updated = decide(
        settings,
        message(url="https://news.example/live", text=STORY),
        message(url="https://news.example/live?utm_medium=x", text=STORY + OTHER),
    )
    assert first.status == "unique"
    assert getattr(updated, "error", None) == "id_conflict" and updated.id == first.id


def test_an_updated_page_with_its_own_id_is_a_url_duplicate(settings: Settings):
    """A new version of a page with an id of its own is decided on its content: the same page again,
    a url duplicate of the first version."""
    first, updated = decide(
        settings,
        message(id="v1", url="https://news.example/page", text=STORY),
        message(id="v2", url="https://news.example/page", text=STORY + OTHER),
    )
    assert first.status == "unique"
    assert (updated.status, getattr(updated, "match", None), getattr(updated, "duplicate_of", None)) == (
        "duplicate",
        "url",
        "v1",
    )


def test_pages_without_content_words_are_not_copies_of_each_other(settings: Settings):
    """Result tables and tickers (numbers and punctuation only) at different URLs are each unique; the
    same page again (same URL) is still a url duplicate."""
    tables = [
        message(id=f"t{i}", url=f"https://scores.example/{i}", text=f"{i} - {i + 1}\n{i * 7}:{i * 3}\n" * 20)
        for i in range(5)
    ]
    again = message(id="t0-again", url="https://scores.example/0", text="1 - 2\n" * 20)
    decisions = decide(settings, *tables, again)
    assert [d.status for d in decisions[:5]] == ["unique"] * 5
    assert (decisions[5].status, getattr(decisions[5], "match", None)) == ("duplicate", "url")
