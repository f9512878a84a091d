"""Topic names and the Faust topic objects of the message contract (see the README)."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.models import Status
from streams.settings import Settings


@dataclass(frozen=True)
class Topics:
    """The topics of a deployment: the raw input and one output topic per decision status."""

    raw: faust.TopicT
    outputs: dict[Status, faust.TopicT]

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
            outputs={status: topic(name) for status, name in settings.output_topic_by_status.items()},
        )
