"""Topic names and the Faust topic objects of the message contract (see the README)."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.settings import Settings


@dataclass(frozen=True)
class Topics:
    """The four topics of a deployment."""

    raw: faust.TopicT
    unique: faust.TopicT
    duplicates: faust.TopicT
    rejected: faust.TopicT

    @classmethod
    def declare(cls, app: faust.App, settings: Settings) -> Topics:
        def topic(name: str) -> faust.TopicT:
            # Raw bytes in and out: Faust's JSON decoding would throw a bad message into the agent's
            # stream and stop it, so parsing happens inside the agent where a failure is a rejection.
            return app.topic(
                name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.topic_partitions,
            )

        return cls(
            raw=topic(settings.topic_raw),
            unique=topic(settings.topic_unique),
            duplicates=topic(settings.topic_duplicates),
            rejected=topic(settings.topic_rejected),
        )
