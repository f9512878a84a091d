"""The exceptions of streams.

::

    StreamsError
    ├── IndexUnavailable      Redis could not be reached after all retries; nothing was decided
    ├── IndexReset            the index epoch changed: Redis lost its data (restarted empty, flushed)
    ├── IndexAuthFailed       Redis refused the credentials (an IndexUnavailable that no retry fixes)
    └── LocalStackError       the developer tools' local broker, Redis or worker could not be started

Bad input is never an exception: it is a :class:`streams.models.Rejection`.
"""


class StreamsError(Exception):
    """Base class of every error raised by streams."""


class IndexUnavailable(StreamsError):
    """Redis did not answer after the configured retries; the article was not decided."""


class IndexAuthFailed(IndexUnavailable):
    """Redis refused our credentials (wrong or missing password, unknown user): retrying will not help."""


class IndexReset(StreamsError):
    """The index lost its data since this process started (its epoch key changed or vanished)."""


class LocalStackError(StreamsError, RuntimeError):
    """A local service (``streams.tools.localstack``) could not be found, started or configured."""
