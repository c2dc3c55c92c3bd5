"""Merge the hits of several detectors: one piece of evidence per (step, turn), the most confident first."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.detection.hits import StepHit


def merge_hits(hit_lists: Iterable[Iterable[StepHit]]) -> list[StepHit]:
    """Keep the most confident hit per (step, turn); name every method that fired, e.g. 'phrase+semantic'."""
    best: dict[tuple[str, int], StepHit] = {}
    methods: dict[tuple[str, int], list[str]] = {}
    for hits in hit_lists:
        for hit in hits:
            key = (hit.step_id, hit.turn_index)
            methods.setdefault(key, [])
            if hit.method not in methods[key]:
                methods[key].append(hit.method)
            if key not in best or hit.confidence > best[key].confidence:
                best[key] = hit
    merged = []
    for key, hit in best.items():
        method = "+".join(methods[key])
        merged.append(hit if method == hit.method else hit.but(method=method))
    return merged
