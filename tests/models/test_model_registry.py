"""The model registry as a user meets it: registering their own model next to the built-ins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from torch import nn

from symgnn.errors import SymgnnError
from symgnn.models.registry import build_model, register
from tests.helpers import LinearOnPositions


def test_a_built_in_name_is_refused_at_the_users_decorator():
    """In a fresh process, where no built-in model is imported yet, the clash is reported at the
    user's decorator (naming both classes), not later from inside the package's own module."""
    script = textwrap.dedent("""
        from torch import nn
        from symgnn.errors import SymgnnError
        from symgnn.models.registry import build_model, register
        try:
            @register("schnet")
            class Mine(nn.Module):
                pass
        except SymgnnError as error:
            print("refused:", error)
        print("built:", type(build_model("schnet")).__name__)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert ("refused: model 'schnet' is a built-in model (symgnn.models.schnet.SchNet); register __main__.Mine "
            "under another name") in result.stdout
    assert "built: SchNet" in result.stdout


def test_two_user_models_under_one_name_are_refused_but_a_rerun_replaces(clean_registry):
    register("tiny_user")(LinearOnPositions)
    assert isinstance(build_model("tiny_user"), LinearOnPositions)

    class Other(LinearOnPositions):
        pass

    with pytest.raises(SymgnnError, match=r"model 'tiny_user' is already registered \(.*LinearOnPositions\)"):
        register("tiny_user")(Other)
    same_name = {"__module__": LinearOnPositions.__module__, "__qualname__": LinearOnPositions.__qualname__}
    rerun = type("LinearOnPositions", (LinearOnPositions,), same_name)
    register("tiny_user")(rerun)  # the same cell or module run again: its new class replaces the old
    assert type(build_model("tiny_user")) is rerun


def test_register_without_a_name_is_refused():
    with pytest.raises(SymgnnError, match=r'register takes the model\'s name, e\.g\. @register\("mymodel"\)'):
        register(LinearOnPositions)


def test_a_constructor_without_out_dim_is_named(clean_registry):
    class NoOutDim(nn.Module):
        def __init__(self, hidden: int = 4) -> None:
            super().__init__()
            self.linear = nn.Linear(3, hidden)

    register("no_out_dim")(NoOutDim)
    with pytest.raises(SymgnnError, match="model 'no_out_dim': bad hyper-parameters .*out_dim.*every model's "
                                          "constructor takes out_dim"):
        build_model("no_out_dim", out_dim=1)


def test_names_that_are_not_plain_words_are_refused():
    """A model's name names its run folders: ``../escape`` would write outside ``runs/``."""
    for name in ("../escape", "a/b", "two words", "-x"):
        with pytest.raises(SymgnnError, match="use letters, digits, '_' and '-' only"):
            register(name)
