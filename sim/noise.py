"""Common random numbers: every random draw of a run comes from its seed alone.

Draws are made in blocks of `BLOCK` quarters. Each stream (breakthrough lotteries,
belief noise, demand shocks) and each block has its own generator seeded from
``(seed, stream, block)``, and each firm's draws for a block sit in their own row. So the
draws never depend on parameter values, on the number of steps run, or on firms listed
after a given firm: two scenarios run with one seed share their shocks, and a comparison
between them is paired.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.arrays import ArrayBag

BLOCK = 40
STREAMS = {"breakthrough": 1, "belief": 2, "demand": 3}


def _generator(seed: int, stream: str, block: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), STREAMS[stream], int(block)])


def draw_block(seed: int, n_firms: int, block: int) -> ArrayBag:
    """One run's draws for quarters ``block*BLOCK`` to ``(block+1)*BLOCK - 1``.

    Returns arrays of shape ``(BLOCK, F)`` for firm draws and ``(BLOCK, 1)`` for market draws.
    """
    breakthrough = _generator(seed, "breakthrough", block).random((n_firms, BLOCK))
    belief = _generator(seed, "belief", block).standard_normal((n_firms, BLOCK))
    demand = _generator(seed, "demand", block).standard_normal((1, BLOCK))
    return ArrayBag(
        breakthrough_draw=np.ascontiguousarray(breakthrough.T),
        belief_shock=np.ascontiguousarray(belief.T),
        demand_shock=np.ascontiguousarray(demand.T),
    )


def draw_block_batch(seeds: Sequence[int], n_firms: int, block: int) -> ArrayBag:
    """The draws of many runs stacked: arrays of shape ``(BLOCK, R, F)`` and ``(BLOCK, R, 1)``."""
    blocks = [draw_block(s, n_firms, block) for s in seeds]
    return ArrayBag({k: np.stack([b[k] for b in blocks], axis=1) for k in blocks[0]})


class NoiseSource:
    """Hands out the draws for quarter ``t``, generating blocks as they are needed."""

    def __init__(self, seeds: int | Sequence[int], n_firms: int):
        self.seeds = seeds
        self.n_firms = n_firms
        self._block_index = -1
        self._block: ArrayBag | None = None

    def at(self, t: int) -> ArrayBag:
        """Draws for quarter ``t``: shape ``(F,)``/``(1,)``, or ``(R, F)``/``(R, 1)`` for many seeds."""
        block = t // BLOCK
        if block != self._block_index:
            if isinstance(self.seeds, (int, np.integer)):
                self._block = draw_block(int(self.seeds), self.n_firms, block)
            else:
                self._block = draw_block_batch(self.seeds, self.n_firms, block)
            self._block_index = block
        return ArrayBag({k: v[t % BLOCK] for k, v in self._block.items()})


def fresh_seed() -> int:
    """A new random seed for a run started without one (shown to the user so it can be repeated)."""
    return int(np.random.SeedSequence().entropy % (2**31))
