"""Durations for people: what the training and benchmark logs print for elapsed time."""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """``seconds`` at a readable scale: ``"12.3 s"`` below a minute, ``"2.5 min"`` below an hour, then
    ``"1.5 h"`` (each switches where its rounded figure would reach the next unit, so a run of 59.96 s
    reads "1.0 min", never "60.0 s")."""
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    if round(seconds / 60, 1) < 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
