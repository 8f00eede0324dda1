"""``symgnn benchmark``: train and evaluate every model under one protocol and tabulate the results."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Optional

import typer


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS reports one, else the CPU count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _warn_oversubscribed(threads: int) -> None:
    """Warn once when ``--threads`` exceeds the usable CPUs: threads then share cores, every epoch is
    slower, and a time-budgeted table compares runs that were starved."""
    from symgnn.errors import InputWarning

    cpus = usable_cpus()
    if threads > cpus:
        warnings.warn(f"--threads {threads} is more than the {cpus} CPU(s) this process may use; "
                      "threads will share cores and each epoch runs slower", InputWarning, stacklevel=2)


def _import_failure(name: str, file: Path | None, error: BaseException) -> str:
    """``--import`` of ``name`` (the user's ``file``, when known) failed with ``error``: one line naming
    the problem and, when it is in the user's code, the line (the traceback would point into importlib)."""
    import importlib
    import traceback

    kind = type(error).__name__
    if isinstance(error, SystemExit):
        return f"it exits on import (sys.exit({error.code!r}))"
    if isinstance(error, SyntaxError):
        text = " ".join((error.msg or "invalid syntax").split())
        where = f"line {error.lineno}" if error.lineno else "an unknown line"
        if error.filename and (file is None or Path(error.filename).resolve() != file):
            where = f"{error.filename} {where}"
        return f"{kind} at {where}: {text}"
    message = " ".join(str(error).split()) or "(no message)"  # one line
    here, importlib_dir = Path(__file__).resolve(), Path(importlib.__file__).resolve().parent

    def is_machinery(filename: str) -> bool:  # this helper, importlib, frozen bootstrap frames
        path = Path(filename).resolve()
        return filename.startswith("<") or path == here or importlib_dir in path.parents

    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if not is_machinery(frame.filename)]
    origin = file or (Path(frames[0].filename).resolve() if frames else None)  # the module's own code
    own = [frame for frame in frames if Path(frame.filename).resolve() == origin]
    if own:
        where = f"line {own[-1].lineno}" if file else f"{own[-1].filename} line {own[-1].lineno}"
        return f"{kind} at {where}: {message}"
    return f"{kind}: {message}"


def import_model_modules(names: list[str]) -> None:
    """Import each ``--import`` module (a dotted name, found from the working directory too, or a ``.py``
    file, which may import the modules beside it) so that the models it registers with
    ``symgnn.models.registry.register`` can be benchmarked.

    A module that cannot be imported (no such file or module, a syntax error, an exception while it
    runs, a file named like a module already imported, such as ``json.py``) is a
    :class:`~symgnn.errors.SymgnnError` of one line, ``cannot import models from <name>: <problem>``,
    raised before anything is trained."""
    import importlib
    import importlib.util
    import sys

    from symgnn.errors import SymgnnError

    def failure(problem: str) -> SymgnnError:
        return SymgnnError(f"cannot import models from {name}: {problem}")

    for name in names:
        if name.endswith(".py") or "/" in name or "\\" in name or Path(name).is_file():
            path = Path(name)
            if path.is_dir():
                raise failure("is a folder; give a .py file or a module name")
            if not path.is_file():
                raise failure("no such file")
            if path.suffix != ".py":
                raise failure("not a .py file; give a .py file or a module name")
            stem = path.stem
            previous = sys.modules.get(stem)
            loaded_from = getattr(previous, "__file__", None)
            if previous is not None and (loaded_from is None or Path(loaded_from).resolve() != path.resolve()):
                # Replacing an imported module (json.py, yaml.py) would break symgnn and its libraries.
                raise failure(f"its name is that of the module {stem!r} already in use; rename the file")
            spec = importlib.util.spec_from_file_location(stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[stem] = module
            folder = str(path.resolve().parent)  # as for a script: the file's own modules import
            if folder not in sys.path:
                sys.path.insert(0, folder)
            try:
                spec.loader.exec_module(module)
            except (Exception, SystemExit) as error:  # the user's code: any failure is theirs (Ctrl-C is not)
                if previous is None:
                    sys.modules.pop(stem, None)
                else:
                    sys.modules[stem] = previous
                raise failure(_import_failure(name, path.resolve(), error)) from None
            continue
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name and (name == error.name or name.startswith(f"{error.name}.")):
                raise failure(f"no such module (give a .py file, or a module importable from {Path.cwd()})") from None
            raise failure(_import_failure(name, None, error)) from None
        except (Exception, SystemExit) as error:
            raise failure(_import_failure(name, None, error)) from None


def register(app: typer.Typer) -> None:
    @app.command()
    def benchmark(
        models: str = typer.Option("all", "--models", help="Comma-separated model names, or all."),
        seeds: int = typer.Option(2, "--seeds", help="Seeds per model (0 .. N-1)."),
        budget_minutes: Optional[float] = typer.Option(
            None, "--budget-minutes", help="Training minutes per (model, seed) run (default 10)."),
        data: Optional[Path] = typer.Option(None, "--data", help="Dataset directory (default: $SYMGNN_DATA)."),
        out: Optional[Path] = typer.Option(
            None, "--out", help="Benchmark directory (default: runs/benchmark, or runs/benchmark-quick)."),
        quick: bool = typer.Option(False, "--quick", help="Smoke test: 2 epochs on small crops; not comparable."),
        threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch (default: torch's)."),
        imports: Optional[list[str]] = typer.Option(
            None, "--import", help="Python module or .py file to import first, so that the models it registers "
                                   "(symgnn.models.registry.register) can be named in --models; repeatable."),
        keep_memory: bool = typer.Option(
            False, "--keep-freed-memory/--no-keep-freed-memory",
            help="Train every run with glibc keeping freed memory: the same numbers epoch by epoch, about 3x the "
                 "epochs in the budget on a CPU (part of the protocol; default off)."),
    ) -> None:
        """Train each model with each seed (train0-5, validation train6, best epoch by validation Pearson),
        evaluate on every split present, and write results.csv, results.md and one JSON per run.

        Resumable: runs already in --out are skipped and an interrupted run continues where it stopped.
        --out must be new, empty or a benchmark directory; nothing else in it is replaced or deleted."""
        import torch

        from symgnn.benchmark.protocol import parse_models
        from symgnn.benchmark.runner import run_benchmark
        from symgnn.durations import format_duration
        from symgnn.errors import SymgnnError, Terminated

        if threads is not None:
            if threads < 1:
                raise SymgnnError(f"--threads must be at least 1, got {threads}")
            _warn_oversubscribed(threads)
            torch.set_num_threads(threads)
        if quick and budget_minutes is not None:
            raise SymgnnError("--quick runs a fixed 2 epochs per model; drop --budget-minutes")
        import_model_modules(imports or [])
        names = parse_models(models)
        target = out or Path("runs") / ("benchmark-quick" if quick else "benchmark")
        try:
            result = run_benchmark(names, seeds, data, target, budget_minutes, quick, log=typer.echo,
                                   keep_freed_memory=keep_memory)
        except KeyboardInterrupt:  # typer would exit 130 without a word
            typer.echo(f"interrupted; rerun the same command to resume (finished runs in {target} are kept)", err=True)
            raise typer.Exit(130) from None
        except Terminated:  # SIGTERM (a scheduler's time limit): the same advice, then `symgnn` exits 143
            typer.echo(f"rerun the same command to resume (finished runs in {target} are kept)", err=True)
            raise
        typer.echo("")
        typer.echo(result.markdown)
        done_before = f" ({result.skipped} already done, not rerun)" if result.skipped else ""
        typer.echo(f"{len(result.run_files)} run(s){done_before} in {format_duration(result.seconds)}; "
                   f"tables {result.csv_path} and {result.markdown_path}")
