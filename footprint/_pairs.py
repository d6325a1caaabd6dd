"""Unordered pairs of codes (neighbours, apart rules, disabled links) in one spelling.

A pair is kept as a sorted tuple, so ``("00D", "00C")`` and ``("00C", "00D")`` are one
pair in every set and mapping.
"""

from __future__ import annotations

__all__ = ["Pair", "sorted_pair"]

Pair = tuple[str, str]


def sorted_pair(a: str, b: str) -> Pair:
    """``(a, b)`` in sorted order."""
    return (a, b) if a <= b else (b, a)
