"""Every command's --help renders as written: rich turns ``:100:`` and the like into emoji, which
once made ``--frame 0:100:10`` read as ``0💯10``."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from symgnn.cli.main import app

EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF]")
COMMANDS = [command.name or command.callback.__name__ for command in app.registered_commands]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_no_emoji(command):
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert not EMOJI.findall(result.output), EMOJI.findall(result.output)


def test_every_command_is_checked():
    assert {"predict", "evaluate", "inspect", "train", "explain"} <= {c.replace("_", "-") for c in COMMANDS}
