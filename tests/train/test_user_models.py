"""A user's own model, registered with ``@register`` and trained with ``fit``: every breach of the model
contract (see :mod:`symgnn.models.registry`) is one line naming the model, and legitimate models train."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symgnn.errors import SymgnnError
from symgnn.io.write import write_predictions
from symgnn.models.registry import register
from symgnn.train.config import config_from_dict
from symgnn.train.loop import fit
from tests.helpers import LinearOnPositions, random_structure

NUM_ATOMS = 40


@pytest.fixture
def structures(tmp_path):
    """A training and a validation file of NUM_ATOMS random atoms with a barrier column."""
    write_predictions(random_structure(NUM_ATOMS, seed=2), {}, tmp_path, "a")
    write_predictions(random_structure(NUM_ATOMS, seed=3), {}, tmp_path, "b")
    return tmp_path / "a.xyz", tmp_path / "b.xyz"


pytestmark = pytest.mark.usefixtures("clean_registry")  # tests/conftest.py


def train(model_class: type[nn.Module], structures, tmp_path, epochs: int = 2, **train_options):
    """Register ``model_class`` as 'user_model' and train it for ``epochs`` epochs."""
    register("user_model")(model_class)
    train_file, val_file = structures
    config = config_from_dict({
        "data": {"train": [str(train_file)], "val": [str(val_file)], "label_column": "barrier"},
        "model": {"name": "user_model"},
        "train": {"epochs": epochs, **train_options},
    })
    return fit(config, None, tmp_path / "run", progress=False, log=lambda *_: None)


Linear = LinearOnPositions  # a legitimate per-atom model; the subclasses below break its output


class Scalar(Linear):
    def forward(self, data):
        return self.linear(data.pos).mean().view(1, 1)


class Flat(Linear):
    def forward(self, data):
        return self.linear(data.pos)[:, 0]


class FourColumns(Linear):
    def forward(self, data):
        return self.linear(data.pos).expand(-1, 4)


class Pair(Linear):
    def forward(self, data):
        return self.linear(data.pos), None


@pytest.mark.parametrize("model_class, message", [
    (Scalar, rf"model 'user_model' returned shape \(1, 1\); expected \(num_nodes, out_dim\) = \({NUM_ATOMS}, 1\)$"),
    (Flat, rf"returned shape \({NUM_ATOMS},\); expected \(num_nodes, out_dim\) = \({NUM_ATOMS}, 1\) "
           rf"\(one row per atom, one column per output: reshape to \({NUM_ATOMS}, 1\)\)"),
    (FourColumns, rf"returned shape \({NUM_ATOMS}, 4\); expected \(num_nodes, out_dim\) = \({NUM_ATOMS}, 1\)"),
    (Pair, rf"model 'user_model' returned tuple, not a tensor; expected a tensor of shape \(num_nodes, out_dim\) = "
           rf"\({NUM_ATOMS}, 1\)"),
])
def test_an_output_of_the_wrong_shape_is_named_on_the_first_step(model_class, message, structures, tmp_path):
    with pytest.raises(SymgnnError, match=message):
        train(model_class, structures, tmp_path)
    assert not (tmp_path / "run" / "last.pt").exists()


def test_an_output_viewing_a_parameter_validates(structures, tmp_path):
    """``self.bias.expand(n, -1)`` is a view of a parameter, which requires grad even under no_grad:
    validation must detach it. Its constant prediction has a NaN Pearson, yet best.pt is written."""

    class Bias(nn.Module):
        def __init__(self, out_dim: int = 1) -> None:
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(1, out_dim))

        def forward(self, data):
            return self.bias.expand(data.num_nodes, -1)

    result = train(Bias, structures, tmp_path)
    assert result.epochs_run == 2 and result.best_epoch == 1
    assert (tmp_path / "run" / "best.pt").exists()


def test_a_model_without_parameters_is_named(structures, tmp_path):
    class Fixed(nn.Module):
        def __init__(self, out_dim: int = 1) -> None:
            super().__init__()

        def forward(self, data):
            return data.pos[:, :1]

    with pytest.raises(SymgnnError, match=r"model 'user_model' has no trainable parameters"):
        train(Fixed, structures, tmp_path)


def test_a_non_finite_first_output_is_not_called_divergence(structures, tmp_path):
    class NotANumber(Linear):
        def forward(self, data):
            return self.linear(data.pos) * float("nan")

    with pytest.raises(SymgnnError, match=rf"model 'user_model': its output is not finite \({NUM_ATOMS} of {NUM_ATOMS} "
                                          r"values\) on the first forward pass, before any update") as caught:
        train(NotANumber, structures, tmp_path)
    assert "diverged" not in str(caught.value)


def test_divergence_after_updates_still_advises_a_lower_rate(structures, tmp_path):
    class LaterNaN(Linear):
        calls = 0

        def forward(self, data):
            LaterNaN.calls += 1
            return self.linear(data.pos) * (float("nan") if LaterNaN.calls > 1 else 1.0)

    with pytest.raises(SymgnnError, match=r"training diverged at epoch 2 \(loss nan\); lower train\.lr"):
        train(LaterNaN, structures, tmp_path)


def test_a_forward_of_another_signature_is_named(structures, tmp_path):
    class PygStyle(Linear):
        def forward(self, x, edge_index):
            return self.linear(x)

    with pytest.raises(SymgnnError, match=r"model 'user_model': forward\(x, edge_index\) cannot take one PyG batch; "
                                          r"models are called as model\(data\) .*def forward\(self, data\)"):
        train(PygStyle, structures, tmp_path)


def test_a_type_error_from_inside_the_model_is_not_masked(structures, tmp_path):
    class Buggy(Linear):
        def forward(self, data):
            return self.linear(data.pos, "extra")

    with pytest.raises(TypeError, match="positional argument"):
        train(Buggy, structures, tmp_path)


def test_a_constructor_requiring_out_dim_is_given_it_when_the_config_is_read(structures, tmp_path):
    class Required(Linear):
        def __init__(self, out_dim: int) -> None:  # no default: the trainer always passes it
            super().__init__(out_dim)

    assert train(Required, structures, tmp_path, epochs=1).epochs_run == 1
