"""The two commands' pipelines: ``explain`` (model + structure -> per-atom files) and ``stats``
(results directory -> plots and ``summary.json``). The CLI only parses arguments and calls these."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symgnn.data.structure import Structure
from symgnn.errors import InputWarning, SymgnnError
from symgnn.explain.descriptor_attribution import DEFAULT_DRAWS
from symgnn.explain.fidelity import DEFAULT_KS, atom_fidelity, summarise_fidelity
from symgnn.explain.gnnexplainer import ExplainConfig, check_exact, explain_fields, prepare_graph
from symgnn.explain.hooks import receptive_hops
from symgnn.explain.sanity import sanity_check
from symgnn.explain.subgraph import receptive_field, saturation_hops
from symgnn.explain.writers import atom_dir, load_atom, load_results, write_atom, write_json
from symgnn.io.atomic import refuse_to_overwrite
from symgnn.nn.descriptor_input import OutOfDistributionWarning


def pick_atoms(predictions: np.ndarray, count: int, seed: int = 0) -> list[int]:
    """``count`` atoms spread over the predicted barrier: equal shares drawn at random from the low,
    mid and high terciles (so the groups of the statistics are balanced)."""
    n = len(predictions)
    if not 0 < count <= n:
        raise SymgnnError(f"--sample {count}: must be between 1 and the {n} atoms of the structure")
    rng = np.random.default_rng(seed)
    order = np.argsort(predictions, kind="stable")
    thirds = np.array_split(order, 3)
    shares = [count // 3 + (1 if i < count % 3 else 0) for i in range(3)]
    picked = [rng.choice(t, size=min(s, len(t)), replace=False) for t, s in zip(thirds, shares)]
    return sorted(int(a) for a in np.concatenate(picked))


@dataclass
class ExplainRun:
    """Settings of one ``symgnn explain`` run beyond the explainer's own."""

    top_k: int = 50
    ks: Sequence[int] = DEFAULT_KS
    n_random: int = 2
    sanity_atoms: int = 6
    figures: bool = True
    hops: int | None = None
    overwrite: bool = False
    descriptor_draws: int = DEFAULT_DRAWS  # replacement draws per descriptor group (0: no descriptor attribution)
    explainer: ExplainConfig = field(default_factory=ExplainConfig)


def check_request(model, structure: Structure, atoms: Sequence[int] | None, sample: int | None, run: ExplainRun) -> list[int] | None:
    """Refuse, before any work, what cannot be explained: atoms outside the structure, a sample of
    more atoms than it has, fewer than one selected edge, and a receptive field smaller than the
    model's (its predictions would then differ from the whole structure's). Returns ``atoms`` with
    repeats dropped (each atom is explained once)."""
    n = len(structure)
    if run.top_k < 1:
        raise SymgnnError(f"--top-k {run.top_k}: must be at least 1 (edges kept as the explanation)")
    if run.n_random < 1:
        raise SymgnnError(f"--random-sets {run.n_random}: must be at least 1 (the fidelity reference)")
    if run.sanity_atoms < 0:
        raise SymgnnError(f"--sanity-atoms {run.sanity_atoms}: must be 0 (skip) or more")
    layers = receptive_hops(model)
    if run.hops is not None and run.hops < layers:
        raise SymgnnError(f"--hops {run.hops}: smaller than the model's {layers} message-passing layers, so a "
                          "field would not hold everything the prediction depends on (omit --hops, or give "
                          f"at least {layers})")
    if atoms is None:
        if not 0 < int(sample or 0) <= n:
            raise SymgnnError(f"--sample {sample}: must be between 1 and the {n} atoms of the structure")
        return None
    atoms = list(dict.fromkeys(int(a) for a in atoms))
    bad = [a for a in atoms if not 0 <= a < n]
    if bad:
        raise SymgnnError(f"--atoms: {bad[0]} is outside 0..{n - 1} (0-based indices: the index column of predict's CSV)")
    return atoms


def explain_structure(predictor, structure: Structure, atoms: Sequence[int] | None, sample: int | None,
                      out: Path, run: ExplainRun, log=print, frame: int | None = None,
                      input_warnings: Sequence[str] = ()) -> dict:
    """Explain ``atoms`` (or ``sample`` atoms picked by :func:`pick_atoms`) of ``structure``; write the
    per-atom files, figures and ``manifest.json`` into ``out``; return the manifest.

    ``frame`` is the frame of the input file ``structure`` was read from (``--frame``; ``None``: the
    last, recorded as -1) and ``input_warnings`` the warnings reading it gave (a file of several
    frames, ...), already shown by the caller: the manifest records both.

    The warnings ``predict`` would give for the structure (free surfaces, descriptors or barriers
    outside the training data, a structure the model was trained on) are given once and recorded
    in the manifest under ``warnings``: an explanation of a meaningless value explains nothing. With
    ``run.overwrite``, atom folders of an earlier run into ``out`` that this run does not explain,
    and the earlier run's statistics (``out/stats``, of ``symgnn explain-stats``), are removed, so
    the directory holds one run."""
    manifest_path = out / "manifest.json"
    refuse_to_overwrite([manifest_path], run.overwrite)
    model = predictor.model.eval()
    requested = atoms
    atoms = check_request(model, structure, atoms, sample, run)
    if atoms is not None and len(atoms) < len(requested):
        log(f"--atoms: {len(requested) - len(atoms)} repeated {'index' if len(requested) - len(atoms) == 1 else 'indices'} "
            "dropped; each atom is explained once")
    earlier_atoms = _earlier_atoms(manifest_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = prepare_graph(model, predictor.graph(structure))
        if predictor.trained_on(structure):
            warnings.warn(f"{structure.name}: in this model's training data, so the explanations are of fitted values, "
                          "not of held-out predictions", InputWarning, stacklevel=2)
        predictor.warn_free_surfaces(structure)
        start = time.perf_counter()
        full = predictor.predict_graph(data)
        full_seconds = time.perf_counter() - start
        predictor.check_plausible(structure.name, full)
    distinct = {str(w.message): w.category for w in caught}  # an ensemble's members say the same thing
    for message, category in distinct.items():  # given here, once each, and kept in the manifest
        warnings.warn(message, category, stacklevel=2)
    recorded_warnings = list(dict.fromkeys([*input_warnings, *distinct]))
    if atoms is None:
        atoms = pick_atoms(full, int(sample or 0), run.explainer.seed)
    hops, capped = field_hops(model, data, atoms, run.hops)
    if capped:
        warnings.warn(capped, InputWarning, stacklevel=2)
        recorded_warnings.append(capped)
    with warnings.catch_warnings():  # the fields are parts of the structure reported on above
        warnings.simplefilter("ignore", OutOfDistributionWarning)
        manifest = _explain_atoms(predictor, model, data, structure, atoms, hops, out, run, log)
    manifest["frame"] = -1 if frame is None else frame
    manifest["speed"]["full_graph_forward_seconds"] = round(full_seconds, 3)
    manifest["warnings"] = recorded_warnings
    write_json(manifest_path, manifest, overwrite=run.overwrite)
    _remove_atom_folders(out, [a for a in earlier_atoms if a not in atoms])
    if run.overwrite:
        _remove_files(out / "stats", STATS_FILES)  # statistics of the run just replaced
    return manifest


def field_hops(model, data, atoms: Sequence[int], hops: int | None) -> tuple[int, str | None]:
    """The hops of the receptive fields of ``atoms`` in the graph ``data``: ``hops`` (``--hops``,
    at least the model's layers: :func:`check_request`; ``None``: the model's layers), capped where
    the fields already hold the whole connected structure (:func:`saturation_hops`), since more hops
    give the same fields and only repeat work (a pass over the edges per hop: 10**5 hops took half a
    minute per atom of a 150-atom box). With the warning to give when it was capped, else ``None``."""
    layers = receptive_hops(model)
    if hops is None or hops <= layers:
        return layers if hops is None else hops, None
    enough = max(layers, saturation_hops(data, atoms))
    if hops <= enough:
        return hops, None
    return enough, (f"--hops {hops}: the receptive fields hold the whole connected structure from {enough} hops on; "
                    f"{enough} are used (more give the same fields)")


def _explain_atoms(predictor, model, data, structure: Structure, atoms: list[int], hops: int, out: Path,
                   run: ExplainRun, log) -> dict:
    """Explain ``atoms`` on their ``hops``-hop receptive fields and write their files; the manifest
    (without the frame, the warnings and the full-graph timing, which the caller adds)."""
    from symgnn.explain.figures import global_view, local_view

    fields = [receptive_field(data, a, hops) for a in atoms]
    worst = check_exact(model, data, fields)
    log(f"{len(atoms)} atoms, {hops}-hop receptive fields: {np.mean([f.num_edges for f in fields]):.0f} edges on "
        f"average (full graph {data.edge_index.shape[1]}); largest deviation from the full graph {worst:.1e}")
    start = time.perf_counter()
    explanations = explain_fields(model, fields, run.explainer)
    explain_seconds = time.perf_counter() - start
    log(f"explained in {explain_seconds:.1f} s ({60 * len(atoms) / explain_seconds:.2f} atoms/min)")
    labels = structure.labels
    file_ids = structure.atom_ids()
    fidelities = []
    start = time.perf_counter()
    for explanation in explanations:
        fid = atom_fidelity(model, explanation, predictor.label_std, run.ks, run.n_random, run.explainer.seed)
        fidelities.append(fid)
        atom = explanation.field.atom
        write_atom(out, explanation, predictor.label_mean, predictor.label_std, run.top_k, fid,
                   None if labels is None else float(labels[atom]), run.overwrite, file_ids=file_ids)
        if run.figures:
            loaded = load_atom(atom_dir(out, atom) / "explanation.json")
            global_view(loaded, run.top_k, atom_dir(out, atom) / "global.png")
            local_view(loaded, run.top_k, atom_dir(out, atom) / "local.png")
    fidelity_seconds = time.perf_counter() - start
    descriptors = _attribute_descriptors(model, data, fields, predictor.label_std, run, out, log)
    sanity = None
    if run.sanity_atoms > 0:
        start = time.perf_counter()
        sanity = sanity_check(model, explanations[: run.sanity_atoms], run.explainer)
        sanity["seconds"] = round(time.perf_counter() - start, 1)
        log(f"sanity: Spearman trained vs reseeded {sanity['mean_trained_reseeded']:.3f}, "
            f"trained vs randomised weights {sanity['mean_trained_randomised']:.3f}")
    manifest = {
        "model": {"checkpoint": predictor.metadata.get("checkpoint"), "file": predictor.metadata.get("checkpoint_file"),
                  "name": predictor.model_name, "hparams": predictor.model_hparams, "cutoff": predictor.cutoff},
        "structure": structure.name,
        "num_atoms": len(structure),
        "atoms": atoms,
        "hops": hops,
        "top_k": run.top_k,
        "explainer": run.explainer.to_dict(),
        "receptive_field": {"mean_edges": float(np.mean([f.num_edges for f in fields])),
                            "mean_nodes": float(np.mean([f.data.num_nodes for f in fields])),
                            "full_graph_edges": int(data.edge_index.shape[1]),
                            "max_deviation_from_full_graph": worst},
        "speed": {"threads": _threads(), "explain_seconds": round(explain_seconds, 2),
                  "atoms_per_minute": round(60 * len(atoms) / explain_seconds, 3),
                  "fidelity_and_files_seconds": round(fidelity_seconds, 2)},
        "fidelity": summarise_fidelity(fidelities),
        "sanity": sanity,
        "descriptors": descriptors,
    }
    return manifest


#: the files ``symgnn explain`` writes into an atom's folder (only these are ever removed)
ATOM_FILES = ("edges.csv", "explanation.json", "importance.xyz", "global.png", "local.png", "descriptors.csv")
#: the files ``symgnn explain-stats`` writes (:func:`explain_stats`; only these are ever removed)
STATS_FILES = ("distance_histogram.png", "edge_lengths.png", "bond_angles.png", "h1_cycles.png", "barrier_groups.png",
               "fidelity.png", "descriptor_groups.png", "descriptor_distances.png", "summary.json")


def _earlier_atoms(manifest_path: Path) -> list[int]:
    """The atoms an earlier run recorded in ``manifest_path`` (none when there is no readable one)."""
    import json

    try:
        return [int(a) for a in json.loads(manifest_path.read_text(encoding="utf-8")).get("atoms", [])]
    except (OSError, ValueError, TypeError, AttributeError):
        return []


def _remove_atom_folders(out: Path, atoms: list[int]) -> None:
    """Remove the files of an earlier run's atoms (``--overwrite``)."""
    for atom in atoms:
        _remove_files(atom_dir(out, atom), ATOM_FILES)


def _remove_files(folder: Path, names: Sequence[str]) -> None:
    """Remove the files ``names`` that symgnn wrote into ``folder``, and the folder when that leaves
    it empty: anything else a user put there stays."""
    if not folder.is_dir():
        return
    for name in names:
        (folder / name).unlink(missing_ok=True)
    if not any(folder.iterdir()):
        folder.rmdir()


def _attribute_descriptors(model, data, fields, label_std: float, run: ExplainRun, out: Path, log) -> dict | None:
    """For a model with descriptor inputs: every descriptor group swapped on each field
    (:mod:`symgnn.explain.descriptor_attribution`), written to ``atom_<id>/descriptors.csv``; the
    manifest's summary of it (``None`` for other models or ``run.descriptor_draws`` 0)."""
    from symgnn.explain.descriptor_attribution import (
        attribute_descriptors, descriptor_groups, descriptor_input, write_attribution,
    )

    features = descriptor_input(model)
    if features is None or run.descriptor_draws == 0:
        return None
    groups = descriptor_groups(features.config.feature_names())
    start = time.perf_counter()
    attributions = attribute_descriptors(model, data, fields, groups, label_std, run.descriptor_draws,
                                         run.explainer.seed)
    seconds = time.perf_counter() - start
    for attribution in attributions:
        write_attribution(atom_dir(out, attribution.atom) / "descriptors.csv", attribution, groups, run.overwrite)
    all_descriptors = [g.name for g in groups].index("all descriptors")
    occluded = float(np.mean([abs(a.deltas[all_descriptors]) for a in attributions]))
    edges = [abs(a.without_edges) for a in attributions if a.without_edges is not None]
    log(f"descriptors: {len(groups)} groups swapped ({run.descriptor_draws} draws) in {seconds:.1f} s; mean |change| "
        f"with all descriptors swapped {occluded:.3f} eV" + (f", with all edges silenced {np.mean(edges):.3f} eV" if edges else ""))
    return {"groups": len(groups), "draws": run.descriptor_draws, "seconds": round(seconds, 2),
            "all_descriptors_mean_abs_ev": round(occluded, 5),
            "all_edges_mean_abs_ev": round(float(np.mean(edges)), 5) if edges else None}


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def explain_stats(results: Path, out: Path | None, config, overwrite: bool = False) -> tuple[dict, list[Path]]:
    """Statistics and plots of an explain run; ``out`` defaults to ``results/stats``."""
    from symgnn.explain import figures
    from symgnn.explain.stats import compute_stats

    out = out or results / "stats"
    summary_path = out / "summary.json"
    refuse_to_overwrite([summary_path], overwrite)
    manifest, atoms = load_results(results)
    descriptors = _descriptor_summary(results, manifest, atoms)  # read first: a broken file stops before any work
    summary, stats = compute_stats(atoms, manifest, config)
    written = [
        figures.distance_histogram(stats, out / "distance_histogram.png"),
        figures.compare_histogram(np.concatenate([s.selected_lengths for s in stats]),
                                  np.concatenate([s.other_lengths for s in stats]), "edge length (Å)",
                                  ("selected edges", "other edges of the same atoms"), out / "edge_lengths.png"),
        figures.compare_histogram(np.concatenate([s.selected_angles for s in stats]),
                                  np.concatenate([s.all_angles for s in stats]), "bond angle (degrees)",
                                  ("between selected bonds", "between all bonds of the same atoms"),
                                  out / "bond_angles.png"),
        figures.topology_plot(summary, out / "h1_cycles.png"),
        figures.barrier_plot(summary, out / "barrier_groups.png"),
    ]
    if summary.get("fidelity"):
        written.append(figures.fidelity_plot(summary["fidelity"], out / "fidelity.png"))
    if descriptors is not None:
        summary["descriptors"] = descriptors
        written.append(figures.descriptor_groups_plot(descriptors, out / "descriptor_groups.png"))
        written.append(figures.radial_profile_plot(descriptors, out / "descriptor_distances.png"))
    written.append(write_json(summary_path, summary, overwrite=True))
    return summary, written


def _descriptor_summary(results: Path, manifest: dict, atoms) -> dict | None:
    """The descriptor occlusion summary of an explain run whose atoms have ``descriptors.csv``."""
    from symgnn.explain.descriptor_attribution import load_attribution, summarise_attributions

    paths = [atom_dir(results, a.atom) / "descriptors.csv" for a in atoms]
    if not any(p.is_file() for p in paths):
        return None
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise SymgnnError(f"{missing[0]}: descriptor attribution missing (incomplete explain run?)")
    loaded = [load_attribution(p) for p in paths]
    groups = {row["group"] for row in loaded[0].groups}
    for path, attribution in zip(paths, loaded):  # a file cut at a line break reads as fewer groups
        if {row["group"] for row in attribution.groups} != groups:
            raise SymgnnError(f"{path}: {len(attribution.groups)} descriptor groups, where {paths[0]} has "
                              f"{len(groups)} (truncated, or from another model?); re-run symgnn explain "
                              "with --overwrite")
    return summarise_attributions(loaded, [a.prediction for a in atoms])
