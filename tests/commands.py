"""Running the ``streams`` command as a user would: a subprocess, with only the STREAMS_* settings given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def streams(
    *args: str, cwd: Path | None = None, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m streams ARGS`` with ``env`` as its only STREAMS_* variables; it may fail (check it)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
