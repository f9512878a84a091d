#!/usr/bin/env python3
"""Write hashes/{base,tools,dev,scrapy}.txt from the pins of constraints.txt, for scripts/setup.sh.

Each file holds every package one install of streams (without extras, with [tools], [dev], [scrapy])
needs, at its constraints.txt version, plus the build requirements (setuptools, wheel), each with
the sha256 of the file pip picks here (Linux x86_64, CPython 3.11; other platforms need other
files, so regenerate there), so that setup.sh can install them all with
`pip install --require-hashes`. constraints.txt itself stays plain: pip turns on hash checking for
the whole install when a constraints file has hashes, and then refuses `-e .` and every range.
Run it (Python 3.11, pip >= 22.2, network) after changing constraints.txt: scripts/hash-pins.py
"""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"base": ".", "tools": ".[tools]", "dev": ".[dev]", "scrapy": ".[scrapy]"}
# What pyproject's [build-system] asks for; installed first, then the project with --no-build-isolation.
BUILD_REQUIREMENTS = ("setuptools", "wheel")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins() -> dict[str, tuple[str, str]]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[norm(name)] = (name, version)
    return pins


def resolve(target: str) -> dict[str, tuple[str, str]]:
    """What pip installs for `target` and the build requirements under constraints.txt on this
    machine: normalised name -> (version, sha256 of the file pip picks, as the index states it)."""
    report = subprocess.run(  # noqa: S603 (pip on this checkout, no outside input)
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--disable-pip-version-check", "--report", "-", "-c", "constraints.txt", target,
         *BUILD_REQUIREMENTS],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    resolved = {}
    for item in json.loads(report)["install"]:
        name = norm(item["metadata"]["name"])
        if name != "streams":
            if not item["download_info"]["url"].endswith(".whl"):
                # Building an sdist would need build dependencies pip does not hash.
                raise SystemExit(f"{name} has no wheel here: {item['download_info']['url']}")
            digest = item["download_info"]["archive_info"]["hashes"]["sha256"]
            resolved[name] = (item["metadata"]["version"], digest)
    return resolved


def main() -> None:
    pins = read_pins()
    for label, target in TARGETS.items():
        resolved = resolve(target)
        unpinned = sorted(name for name in resolved if name not in pins)
        if unpinned:
            raise SystemExit(f"{target} needs packages constraints.txt does not pin: {unpinned}")
        lines = [
            f"# Written by scripts/hash-pins.py from constraints.txt: what `pip install {target}` needs",
            "# and the build requirements, each with the sha256 of its wheel for Linux x86_64, Python 3.11.",
        ]
        for key, (version, digest) in sorted(resolved.items()):
            name, pinned = pins[key]
            if version != pinned:
                raise SystemExit(f"pip resolved {name} {version}, constraints.txt pins {pinned}")
            lines += [f"{name}=={version} \\", f"    --hash=sha256:{digest}"]
        out = ROOT / "hashes" / f"{label}.txt"
        out.parent.mkdir(exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        print(f"{out.relative_to(ROOT)}: {len(resolved)} packages")


if __name__ == "__main__":
    main()
