"""hashes/*.txt (installed by scripts/setup.sh with --require-hashes) agree with constraints.txt, pyproject.

They are written by scripts/hash-pins.py; a pin changed in constraints.txt without rerunning it, or a
dependency added to pyproject.toml without a pin, fails here instead of in someone's setup.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# Each hashed file and the extras it installs ([dev] takes [tools] in with "streams[tools]").
HASHED = {"base": (), "tools": ("tools",), "dev": ("dev", "tools"), "scrapy": ("scrapy",)}
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def parse_hashed(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, hashes), one entry per requirement (continuation lines joined)."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("#"))
    entries = {}
    for entry in text.replace("\\\n", " ").splitlines():
        if entry.strip():
            spec, *options = entry.split()
            name, version = spec.split("==")
            assert all(HASH.fullmatch(option) for option in options), f"{path.name}: {entry}"
            entries[canonicalize_name(name)] = (version, options)
    return entries


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def declared_requirements(extras: tuple[str, ...]) -> list[Requirement]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = list(pyproject["project"]["dependencies"]) + list(pyproject["build-system"]["requires"])
    for extra in extras:
        declared += pyproject["project"]["optional-dependencies"][extra]
    requirements = [Requirement(line) for line in declared]
    return [r for r in requirements if canonicalize_name(r.name) != "streams"]  # an extra of its own


def test_constraints_txt_has_no_hashes_so_it_still_works_as_a_constraints_file():
    # With a hash in a -c file pip checks hashes for the whole install and refuses `-e .` and ranges.
    assert "--hash" not in (ROOT / "constraints.txt").read_text()


@pytest.mark.parametrize("label", sorted(HASHED))
def test_every_pin_has_a_hash_and_the_constraints_version(label):
    entries = parse_hashed(ROOT / "hashes" / f"{label}.txt")
    pins = constraint_pins()
    assert entries
    for name, (version, hashes) in entries.items():
        assert hashes, f"{name} has no hash in hashes/{label}.txt"
        assert pins.get(name) == version, (
            f"hashes/{label}.txt has {name}=={version}, constraints.txt {pins.get(name)}"
        )


@pytest.mark.parametrize("label", sorted(HASHED))
def test_every_declared_dependency_is_pinned_and_hashed_within_its_range(label):
    entries = parse_hashed(ROOT / "hashes" / f"{label}.txt")
    for requirement in declared_requirements(HASHED[label]):
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{requirement} is not in hashes/{label}.txt (run scripts/hash-pins.py)"
        assert requirement.specifier.contains(entries[name][0], prereleases=True), (
            f"hashes/{label}.txt pins {name}=={entries[name][0]}, outside {requirement}"
        )


def test_setup_installs_from_the_hashed_files_and_builds_only_the_project_itself():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert 'lock="hashes/${extras:-base}.txt"' in setup
    assert re.search(r"pip install --require-hashes --no-deps -r \"\$lock\"", setup)
    assert re.search(r"pip install .*--no-deps --no-build-isolation -e \.", setup)
    assert "-c constraints.txt" not in setup  # an unhashed install would bypass the check
