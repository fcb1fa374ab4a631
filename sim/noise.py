"""Common random numbers: every random draw of a run is a function of its seed alone.

Each draw is computed, not generated in sequence: a counter-based generator hashes
``(seed, stream, firm, quarter)`` into 64 random bits with the SplitMix64 finaliser
(Steele, Lea & Flood 2014), applied in two rounds. So a draw never depends on parameter
values, on how many quarters are run, on how many firms there are, or on which other runs
share a batch: two scenarios run with one seed see the same shocks (their comparison is
paired), and one run gives the same numbers alone, in a batch of thousands, or on a cluster.
Hashing is vectorised, so a batch of runs draws all its numbers in a few array operations.

Streams: ``breakthrough`` (uniform per firm and quarter), ``belief`` (standard normal per
firm and quarter), ``demand`` (standard normal per quarter). Normals use the Box-Muller
transform of two uniforms from two sub-streams.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.arrays import ArrayBag
from sim.params import MAX_SEED, ParameterError

STREAMS = {"breakthrough": 1, "belief_a": 2, "belief_b": 3, "demand_a": 4, "demand_b": 5}
MARKET = 2**31
"""The 'firm' index of market-wide draws."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_C1, _C2, _C3 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0xD1B54A32D192ED03)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 2.0**-53


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijection of 64-bit integers with full avalanche.

    Works in place on ``z`` (which the callers own) with one scratch array: a block of
    draws is large, and each new array of that size costs fresh memory pages.
    """
    shifted = z >> _S30
    z ^= shifted
    z *= _C1
    np.right_shift(z, _S27, out=shifted)
    z ^= shifted
    z *= _C2
    np.right_shift(z, _S31, out=shifted)
    z ^= shifted
    return z


def _keys(seeds: np.ndarray, stream: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        start = seeds.astype(np.uint64).reshape(-1) * _GOLDEN + np.uint64(stream) * _C3  # an array, even for one seed
        return _mix(_mix(start)).reshape(seeds.shape)


def _uniform(keys: np.ndarray, firms: np.ndarray, quarters: np.ndarray) -> np.ndarray:
    """Uniform draws in [0, 1) of shape quarters.shape + firms.shape + keys.shape."""
    with np.errstate(over="ignore"):
        counter = _mix(firms.astype(np.uint64) * _GOLDEN + quarters.astype(np.uint64)[..., None] * _C3 + _C1)
        shape = quarters.shape + firms.shape + (1,) * keys.ndim
        bits = _mix(_mix(keys + counter.reshape(shape)))
    bits >>= _S11
    unit = bits.astype(np.float64)
    unit *= _TO_UNIT
    return unit


def _normal(keys_a: np.ndarray, keys_b: np.ndarray, firms: np.ndarray, quarters: np.ndarray) -> np.ndarray:
    """Standard normal draws by Box-Muller (computed in place, see `_mix`)."""
    radius = _uniform(keys_a, firms, quarters)
    np.negative(radius, out=radius)
    np.log1p(radius, out=radius)
    radius *= -2.0
    np.sqrt(radius, out=radius)
    angle = _uniform(keys_b, firms, quarters)
    angle *= 2.0 * np.pi
    np.cos(angle, out=angle)
    radius *= angle
    return radius


BLOCK = 40
"""Quarters drawn at once: one vectorised pass per block instead of one per quarter."""


def check_seed(seed: object) -> int:
    """The seed as an int, or a `ParameterError` saying what seeds are allowed."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed <= MAX_SEED:
        raise ParameterError(f"seed: {seed!r} is not allowed; seeds are whole numbers from 0 to {MAX_SEED} (2^63 - 1)")
    return int(seed)


class NoiseSource:
    """The draws of one run (an int seed) or of a batch of runs (a sequence of seeds)."""

    def __init__(self, seeds: int | Sequence[int], n_firms: int):
        if isinstance(seeds, int | np.integer):
            check_seed(seeds)
        seeds_array = np.asarray(seeds, dtype=np.int64)
        if np.any(seeds_array < 0):
            raise ParameterError(
                f"seeds: {seeds_array.min()} is not allowed; seeds are whole numbers from 0 to {MAX_SEED}"
            )
        self._keys = {name: _keys(seeds_array, stream) for name, stream in STREAMS.items()}
        self._firms = np.arange(n_firms, dtype=np.uint64)
        self._market = np.array([MARKET], dtype=np.uint64)
        self._block_start = -1
        self._block: ArrayBag | None = None

    def at(self, t: int) -> ArrayBag:
        """Draws for quarter ``t``: shape ``(F,)``/``(1,)``, or ``(F, R)``/``(1, R)`` for a batch."""
        start = t - t % BLOCK
        if start != self._block_start:
            self._block = self._draw(np.arange(start, start + BLOCK))
            self._block_start = start
        return ArrayBag({name: values[t - start] for name, values in self._block.items()})

    def _draw(self, quarters: np.ndarray) -> ArrayBag:
        k = self._keys
        return ArrayBag(
            breakthrough_draw=_uniform(k["breakthrough"], self._firms, quarters),
            belief_shock=_normal(k["belief_a"], k["belief_b"], self._firms, quarters),
            demand_shock=_normal(k["demand_a"], k["demand_b"], self._market, quarters),
        )


def fresh_seed() -> int:
    """A new random seed for a run started without one (shown to the user so it can be repeated)."""
    return int(np.random.SeedSequence().entropy % (2**31))
