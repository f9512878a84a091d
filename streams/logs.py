"""Structured logs: one JSON object a line (``STREAMS_LOG_FORMAT=json``) or readable console lines.

Faust, aiokafka and our own loggers all go through the standard library; structlog's formatter
renders them, so every line carries a timestamp, level, logger name and the ``extra`` fields.
Settings are never logged whole: secrets are ``SecretStr`` and print as ``**********``.
"""

from __future__ import annotations

import logging
import sys

import structlog

from streams.settings import Settings

_STD_ATTRS = set(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {"message", "asctime"}


def _extra_fields(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    record = event_dict.get("_record")
    if record is not None:
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and not key.startswith("_") and key not in event_dict:
                event_dict[key] = value
    return event_dict


def formatter(fmt: str) -> logging.Formatter:
    """The structlog formatter for stdlib handlers."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _extra_fields,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


def configure_logging(settings: Settings) -> None:
    """Route every logger to stderr through the structured formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(settings.log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
