"""Deterministic random streams: one generator per (seed, stream name, day).

Every random draw of the generator comes from a stream made here, so a run depends only on its
arguments: no global state, no wall clock, and adding draws to one stream never shifts another.
"""
from __future__ import annotations

import zlib

import numpy as np

WORLD_DAY = -1  # pseudo-day of the streams that build the world before the first simulated day


def stream_id(name: str) -> int:
    """Stable 32-bit id of a stream name (crc32, identical on every platform and run)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, name: str, day: int = WORLD_DAY, part: int = 0) -> np.random.Generator:
    """The generator of stream `name` on day index `day` (WORLD_DAY for world building)."""
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    entropy = [seed, stream_id(name), day + 1, part]
    return np.random.default_rng(np.random.SeedSequence(entropy))
