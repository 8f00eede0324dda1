"""``benchmarks/trajectory.py``: its two paths predict the same numbers, frame by frame, and write
what the CLI writes."""

from __future__ import annotations

import ase.io
import numpy as np
import torch

from symgnn.io.lammps_dump import dump_frame_text
from symgnn.models import build_model
from symgnn.predictor import Predictor
from tests.helpers import benchmark_script, random_structure

def test_streamed_and_separate_paths_agree(tmp_path):
    script = benchmark_script("trajectory")
    torch.manual_seed(0)
    predictor = Predictor(build_model("painn", hidden=8, num_layers=1).eval(), 1.5, 0.3, 4.0, "painn", {})
    frames = script.frames_of(random_structure(120, seed=5), 3)
    assert not np.allclose(frames[0].positions, frames[1].positions)
    dump = tmp_path / "quench.dump"
    dump.write_text("".join(dump_frame_text(f, timestep=10 * k) for k, f in enumerate(frames)))
    streamed = script.predict_trajectory(predictor, dump, tmp_path / "t")
    separate = script.predict_one_by_one(predictor, dump, 3, tmp_path / "s")
    for a, b in zip(streamed, separate):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert not np.allclose(streamed[0], streamed[1])
    assert len(ase.io.read(tmp_path / "t" / "quench.xyz", index=":")) == 3
    assert sorted(p.name for p in (tmp_path / "s").iterdir())[:3] == ["quench_0.csv", "quench_0.dump", "quench_0.xyz"]
