"""Every command and option of the CLI is documented in docs/usage.md, and the README
keeps the two commands first."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from pipeline.cli import cli

ROOT = Path(__file__).resolve().parent.parent
USAGE = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")


def commands() -> list[tuple[str, click.Command]]:
    assert isinstance(cli, click.Group)
    return sorted(cli.commands.items())


@pytest.mark.parametrize(("name", "command"), commands())
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    assert f"bkjob-export {name}" in USAGE, f"command {name} is not in docs/usage.md"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            longest = max(param.opts, key=len)
            if longest == "--help":
                continue
            assert longest in USAGE, f"{name} {longest} is not in docs/usage.md"


def test_readme_shows_the_two_commands_first() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.index("## Quick start")
    assert readme.index("make demo") > quick and readme.index("make test") > quick
    assert readme.index("make demo") < readme.index("## Nightly")
