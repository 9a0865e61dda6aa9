"""Where each training sample comes from: a scrambled Sobol point and a realisation seed.

Sample `index` of a dataset with seed `dataset_seed` is fixed by those two numbers alone:
its design (θ, N) is point `index` of a 24-dimensional scrambled Sobol sequence whose
scrambling is seeded by `dataset_seed` (23 θ entries over the box of studio.physics, plus
the asperity count N uniform on the integers [MIN_ASPERITIES, MAX_ASPERITIES]), and its
realisation seed is `SeedSequence([dataset_seed, index])` reduced to [0, 2**31). Any
sample, or any range of samples, can therefore be regenerated without the others.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import qmc

from studio.physics import MAX_ASPERITIES, MIN_ASPERITIES, THETA_LOWER, THETA_SIZE, THETA_UPPER, from_unit

SOBOL_DIMENSION = THETA_SIZE + 1  # 23 θ entries + the asperity count
SOBOL_STREAM = 0x50B0  # spawn key that separates the scrambling stream from the per-sample seeds
SEED_LIMIT = 2**31  # realisation seeds lie in [0, SEED_LIMIT)

# θ is stored as float32; these are the float32 values closest to the box from inside, so a
# stored θ read back as float64 is inside the box exactly (float32(0.2) > 0.2, for instance).
_LOWER32 = np.where(THETA_LOWER.astype(np.float32) < THETA_LOWER,
                    np.nextafter(THETA_LOWER.astype(np.float32), np.float32(np.inf)),
                    THETA_LOWER.astype(np.float32))
_UPPER32 = np.where(THETA_UPPER.astype(np.float32) > THETA_UPPER,
                    np.nextafter(THETA_UPPER.astype(np.float32), np.float32(-np.inf)),
                    THETA_UPPER.astype(np.float32))


def sobol_points(dataset_seed: int, first_index: int, count: int) -> np.ndarray:
    """Points first_index .. first_index+count-1 of the dataset's scrambled Sobol sequence, (count, 24) in [0, 1)."""
    rng = np.random.default_rng(np.random.SeedSequence(int(dataset_seed), spawn_key=(SOBOL_STREAM,)))
    engine = qmc.Sobol(d=SOBOL_DIMENSION, scramble=True, rng=rng)
    if first_index:
        engine.fast_forward(int(first_index))
    with warnings.catch_warnings():
        # Balance across a shard is not needed: the whole sequence is what is balanced.
        warnings.filterwarnings("ignore", message=".*balance properties.*")
        return engine.random(int(count))


def designs_from_unit(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(θ float32 (n, 23) inside the box, N int16 (n,)) from unit points (n, 24)."""
    points = np.asarray(points, dtype=np.float64)
    theta = from_unit(points[:, :THETA_SIZE]).astype(np.float32)
    theta = np.clip(theta, _LOWER32, _UPPER32)
    span = MAX_ASPERITIES - MIN_ASPERITIES + 1
    n = MIN_ASPERITIES + np.floor(points[:, THETA_SIZE] * span).astype(np.int64)
    n = np.minimum(n, MAX_ASPERITIES).astype(np.int16)
    return theta, n


def realisation_seeds(dataset_seed: int, first_index: int, count: int) -> np.ndarray:
    """Realisation seeds (count,) int64 in [0, 2**31) of samples first_index .. first_index+count-1.

    Defined as SeedSequence([dataset_seed, index]).generate_state(1, uint32)[0] % 2**31;
    computed with a vectorised copy of numpy's SeedSequence hash (tested equal) because one
    SeedSequence object per sample costs about a second per 16384-sample shard.
    """
    first_index, count = int(first_index), int(count)
    if 0 <= dataset_seed < 2**32 and first_index + count <= 2**32:
        index = np.arange(first_index, first_index + count, dtype=np.uint64)
        return (_seed_sequence_first_word(int(dataset_seed), index) % SEED_LIMIT).astype(np.int64)
    seeds = np.empty(count, dtype=np.int64)
    for i in range(count):
        state = np.random.SeedSequence([int(dataset_seed), first_index + i]).generate_state(1, dtype=np.uint32)
        seeds[i] = int(state[0]) % SEED_LIMIT
    return seeds


# numpy.random.SeedSequence constants (numpy/random/bit_generator.pyx, after M. O'Neill's seed_seq_fe).
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R, _XSHIFT, _POOL_SIZE = 0xCA01F9DD, 0x4973F715, 16, 4
_WORD = np.uint64(0xFFFFFFFF)


def _seed_sequence_first_word(dataset_seed: int, index: np.ndarray) -> np.ndarray:
    """SeedSequence([dataset_seed, i]).generate_state(1, uint32)[0] for every i in `index` (all < 2**32)."""
    hash_const = _INIT_A

    def hashmix(value):
        nonlocal hash_const
        value = (value ^ np.uint64(hash_const)) & _WORD
        hash_const = (hash_const * _MULT_A) & 0xFFFFFFFF
        value = (value * np.uint64(hash_const)) & _WORD
        return value ^ (value >> np.uint64(_XSHIFT))

    def mix(x, y):
        result = (np.uint64(_MIX_MULT_L) * x - np.uint64(_MIX_MULT_R) * y) & _WORD
        return result ^ (result >> np.uint64(_XSHIFT))

    entropy = [np.full_like(index, dataset_seed), index]
    pool = [hashmix(entropy[i] if i < len(entropy) else np.zeros_like(index)) for i in range(_POOL_SIZE)]
    for src in range(_POOL_SIZE):
        for dst in range(_POOL_SIZE):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    value = (pool[0] ^ np.uint64(_INIT_B)) & _WORD
    value = (value * np.uint64((_INIT_B * _MULT_B) & 0xFFFFFFFF)) & _WORD
    return value ^ (value >> np.uint64(_XSHIFT))


def sample_designs(dataset_seed: int, first_index: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """θ float32 (count, 23), N int16 (count,), seed int64 (count,) of a contiguous run of samples."""
    theta, n = designs_from_unit(sobol_points(dataset_seed, first_index, count))
    return theta, n, realisation_seeds(dataset_seed, first_index, count)
