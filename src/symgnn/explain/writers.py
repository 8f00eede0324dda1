"""Per-atom explanation files, and reading a results directory back for the statistics.

Layout of ``symgnn explain --out DIR``::

    DIR/manifest.json                  checkpoint, run settings, frame, atoms, warnings, timing, fidelity, sanity
    DIR/atom_<index>/edges.csv         every receptive-field edge, most important first
    DIR/atom_<index>/explanation.json  nodes (index, id, species, unwrapped offsets, hops), edges, fidelity
    DIR/atom_<index>/importance.xyz    receptive field for OVITO: importance per atom, target flagged
    DIR/atom_<index>/global.png, local.png   the paper's two views
    DIR/atom_<index>/descriptors.csv   models with descriptor inputs: each descriptor group's effect
                                       (symgnn.explain.descriptor_attribution)

Atoms are named by their 0-based ``index`` in the structure as read (``--atoms``, the ``source``
and ``target`` of ``edges.csv``, the folder names; a LAMMPS dump's atoms are sorted by id), and
``id`` is the file's own (a dump's ``id`` column, else index + 1), as in ``symgnn predict``'s CSV.
``importance`` of an atom is the sum of the importance of the edges it is an end of (both
directions); the target has ``target = 1``. Positions in ``importance.xyz`` are unwrapped around
the target (which sits at the origin), so an open-boundary viewer shows the field in one piece.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase.data import chemical_symbols

from symgnn.errors import SymgnnError
from symgnn.explain.gnnexplainer import AtomExplanation, top_edges
from symgnn.io.atomic import atomic_path, atomic_write, refuse_to_overwrite


def symbol(z: int) -> str:
    return chemical_symbols[int(z)]


def atom_dir(out: Path, atom: int) -> Path:
    return out / f"atom_{atom:05d}"


def node_importance(explanation: AtomExplanation) -> np.ndarray:
    """Sum of the importance of each node's edges (as sender and as receiver)."""
    field = explanation.field
    source, target = field.data.edge_index.numpy()
    n = field.data.num_nodes
    return np.bincount(source, explanation.mask, n) + np.bincount(target, explanation.mask, n)


def write_json(path: Path, payload: Any, overwrite: bool) -> Path:
    refuse_to_overwrite([path], overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        json.dump(payload, handle, indent=1)
    return path


def write_atom(
    out: Path, explanation: AtomExplanation, label_mean: float, label_std: float, top_k: int,
    fidelity: dict | None, label: float | None, overwrite: bool, file_ids: np.ndarray | None = None,
) -> list[Path]:
    """Write ``edges.csv``, ``explanation.json`` and ``importance.xyz`` of one atom.

    Atoms are named by their 0-based ``index`` in the structure (what ``--atoms`` and ``edges.csv``
    use) and, beside it, by ``id``: ``file_ids`` (the structure's own, e.g. a LAMMPS dump's ``id``
    column; :meth:`Structure.atom_ids`), else index + 1."""
    field = explanation.field
    folder = atom_dir(out, field.atom)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "edges.csv", folder / "explanation.json", folder / "importance.xyz"]
    refuse_to_overwrite(paths, overwrite)
    z = field.data.z.numpy()
    ids = (field.nodes + 1) if file_ids is None else np.asarray(file_ids)[field.nodes]
    source, target = field.data.edge_index.numpy()
    lengths = field.data.edge_vec.double().norm(dim=-1).numpy()
    order = explanation.top_edges(field.num_edges)
    with atomic_write(paths[0]) as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "source", "target", "source_species", "target_species", "pair", "length",
                         "importance", "selected"])
        for rank, e in enumerate(order):
            a, b = symbol(z[source[e]]), symbol(z[target[e]])
            writer.writerow([rank + 1, field.nodes[source[e]], field.nodes[target[e]], a, b, "-".join(sorted((a, b))),
                             f"{lengths[e]:.4f}", f"{explanation.mask[e]:.6g}", int(rank < top_k)])
    payload = {
        "atom": field.atom,
        "id": int(ids[field.center]),
        "species": symbol(z[field.center]),
        "prediction": explanation.prediction * label_std + label_mean,
        "masked_prediction": explanation.masked_prediction * label_std + label_mean,
        "label": label,
        "hops": int(field.hops.max()),
        "num_nodes": int(field.data.num_nodes),
        "num_edges": field.num_edges,
        "top_k": top_k,
        "center": field.center,
        "nodes": {
            "index": field.nodes.tolist(),
            "id": [int(i) for i in ids],
            "z": z.tolist(),
            "offset": np.round(field.offsets, 4).tolist(),
            "hop": field.hops.tolist(),
        },
        "edges": {
            "source": source.tolist(),
            "target": target.tolist(),
            "importance": [float(f"{m:.6g}") for m in explanation.mask],
        },
        "fidelity": fidelity,
    }
    with atomic_write(paths[1]) as handle:
        json.dump(payload, handle)
    _write_xyz(paths[2], explanation, ids)
    return paths


def _write_xyz(path: Path, explanation: AtomExplanation, ids: np.ndarray) -> None:
    from ase import Atoms
    from ase.io import write

    field = explanation.field
    atoms = Atoms(numbers=field.data.z.numpy(), positions=field.offsets, pbc=False)
    atoms.new_array("index", field.nodes.astype(np.int64))
    atoms.new_array("id", np.asarray(ids, dtype=np.int64))
    atoms.new_array("importance", node_importance(explanation))
    flag = np.zeros(len(atoms), dtype=np.int64)
    flag[field.center] = 1
    atoms.new_array("target", flag)
    atoms.new_array("hop", field.hops.astype(np.int64))
    with atomic_path(path) as temp:
        write(temp, atoms, format="extxyz")


@dataclass
class LoadedAtom:
    """One atom's explanation as read back from ``explanation.json`` (what the statistics need)."""

    atom: int
    species: str
    prediction: float
    label: float | None
    center: int
    z: np.ndarray
    offsets: np.ndarray
    source: np.ndarray
    target: np.ndarray
    importance: np.ndarray
    fidelity: dict | None

    @property
    def distances(self) -> np.ndarray:
        return np.linalg.norm(self.offsets, axis=1)

    def top_edges(self, k: int) -> np.ndarray:
        """Indices of the ``k`` most important edges, most important first (ties by index)."""
        return top_edges(self.importance, k)

    @property
    def edge_vectors(self) -> np.ndarray:
        """Vector from each edge's receiver to its sender (unwrapped offsets)."""
        return self.offsets[self.source] - self.offsets[self.target]


def _read_json(path: Path) -> Any:
    """A JSON file an explain run wrote; a truncated or edited one is one error line naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (ValueError, UnicodeDecodeError) as error:
        raise SymgnnError(f"{path}: truncated or corrupt ({str(error).splitlines()[0]}); re-run symgnn explain "
                          "with --overwrite") from None


def load_atom(path: Path) -> LoadedAtom:
    p = _read_json(path)
    try:
        return _loaded_atom(p)
    except (KeyError, TypeError, ValueError) as error:
        raise SymgnnError(f"{path}: not an explanation written by symgnn explain (missing or bad {error})") from None


def _loaded_atom(p: dict) -> LoadedAtom:
    return LoadedAtom(
        atom=int(p["atom"]), species=p["species"], prediction=float(p["prediction"]), label=p.get("label"),
        center=int(p["center"]), z=np.asarray(p["nodes"]["z"]), offsets=np.asarray(p["nodes"]["offset"], dtype=float),
        source=np.asarray(p["edges"]["source"]), target=np.asarray(p["edges"]["target"]),
        importance=np.asarray(p["edges"]["importance"], dtype=float), fidelity=p.get("fidelity"),
    )


def load_results(results: Path) -> tuple[dict, list[LoadedAtom]]:
    """The manifest and every atom's explanation of a ``symgnn explain`` output directory."""
    manifest_path = results / "manifest.json"
    if results.is_file():
        raise SymgnnError(f"{results}: is a file, not a directory (give the --out directory of symgnn explain"
                          f"{_enclosing_run(results)})")
    if not results.is_dir():
        raise SymgnnError(f"{results}: directory not found (give the --out directory of symgnn explain)")
    if not manifest_path.is_file():
        raise SymgnnError(f"{results}: not a 'symgnn explain' output directory (no manifest.json)")
    manifest = _read_json(manifest_path)
    if not isinstance(manifest, dict):
        raise SymgnnError(f"{manifest_path}: not a manifest written by symgnn explain")
    paths = [atom_dir(results, int(a)) / "explanation.json" for a in manifest.get("atoms", [])]
    missing = [p for p in paths if not p.is_file()]
    if missing or not paths:
        raise SymgnnError(f"{missing[0] if missing else results}: explanation missing (incomplete explain run?)")
    atoms = [load_atom(p) for p in paths]
    return manifest, atoms


def _enclosing_run(path: Path) -> str:
    """``": DIR?"`` when the file ``path`` lies in an explain output directory ``DIR`` (its
    ``manifest.json``, an atom's or the statistics' files), else nothing: the directory meant."""
    run = next((p for p in list(path.parents)[:2] if (p / "manifest.json").is_file()), None)
    return "" if run is None else f": {run}?"
