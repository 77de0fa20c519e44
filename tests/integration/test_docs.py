"""The documentation follows the code: every renewd option is in
docs/configuration.md and every documented option exists."""
import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RENEWD_BUILD", REPO / "build"))


def help_options():
    out = subprocess.run([str(BUILD / "core" / "renewd"), "--help"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    return {m.group(1).replace("-", "_") for m in re.finditer(r"^\s+--([a-z-]+)\s", out, re.M)} - {"config"}


def documented_options():
    text = (REPO / "docs" / "configuration.md").read_text()
    return set(re.findall(r"^\| `([a-z_]+)` \| `--", text, re.M))


def test_every_option_is_documented():
    opts = help_options()
    assert opts, "renewd --help listed no options"
    missing = opts - documented_options()
    assert not missing, f"options missing from docs/configuration.md: {sorted(missing)}"


def test_every_documented_option_exists():
    extra = documented_options() - help_options()
    assert not extra, f"docs/configuration.md documents options renewd does not have: {sorted(extra)}"


def test_readme_starts_with_the_two_commands():
    lines = [l for l in (REPO / "README.md").read_text().splitlines() if l.strip()]
    fence = lines.index("```sh")
    assert lines[fence + 1].startswith("scripts/demo")
    assert lines[fence + 2].startswith("scripts/test")
