"""Chunk sizes that keep the JNE engine inside a memory budget.

The engine never stores the (n_stimuli, n_voxels, n_features) Jacobian
tensor. It walks over blocks of stimuli and voxels (or feature directions)
and keeps one block of Jacobians at a time. The planners here turn the
budget ``max_memory_gb`` into block sizes from closed-form byte counts of
every working array, so peak working memory stays below the budget
whatever the number of voxels or stimuli.

The budget covers the engine's working arrays: Jacobian blocks, the mean
Jacobian, hidden-space products and their cache. It does not cover the
model weights, the inputs, the torch runtime, or the outputs (the
deviation and JNE-SS arrays of shape (n_stimuli, n_voxels) when they are
kept in memory, and the per-voxel vectors). One GB here is 10**9 bytes.
"""

import math
from dataclasses import asdict, dataclass

from jne.errors import ConfigError

GB = 10**9

# Preferred block sizes. Matrix products reach most of their speed from
# about 8 stimuli x 512 voxels on CPU, so larger blocks buy little. Spare
# budget goes to the cache of hidden-space products instead.
TARGET_GEMM_COLUMNS = 16384
TARGET_VOXEL_CHUNK = 1024
TARGET_INNER_CHUNK = 64

# The generic path can only measure the sizes of module outputs (see
# ``estimate_activation_size``), so it plans with this safety factor for
# autograd's temporaries.
GENERIC_SAFETY_FACTOR = 3


@dataclass(frozen=True)
class FastPlan:
    """Block sizes of the closed-form path for ``ResidualMLP``.

    Attributes
    ----------
    stimulus_chunk : int
        Stimuli whose hidden-to-input products (array of shape
        (hidden_size, stimulus_chunk, n_features)) are built at once.
    voxel_chunk : int
        Voxels per output matrix product.
    cached_chunks : int
        Stimulus chunks whose products are kept from the mean pass for
        the deviation pass instead of being computed again.
    estimated_bytes : int
        Planned peak of the working arrays, in bytes.
    """

    stimulus_chunk: int
    voxel_chunk: int
    cached_chunks: int
    estimated_bytes: int

    def as_dict(self):
        """Return the plan as a plain dict (for logs and HDF5 attrs)."""
        return {"path": "fast", **asdict(self)}


@dataclass(frozen=True)
class GenericPlan:
    """Block sizes of the ``torch.func`` path.

    Attributes
    ----------
    direction : {"forward", "reverse"}
        Forward mode pushes feature directions through the model with
        ``jvp``. Reverse mode pulls voxel directions back with ``vjp``.
    voxel_block : int
        Voxels whose mean Jacobian (array of shape (voxel_block,
        n_features)) is held at once. Forward mode runs every
        ``jvp`` again for each block, so one block covering all voxels is
        preferred.
    stimulus_chunk : int
        Stimuli per model call.
    inner_chunk : int
        Feature directions (forward) or voxels (reverse) per vectorised
        call, so one Jacobian block has shape (inner_chunk,
        stimulus_chunk, n_voxels) or (inner_chunk, stimulus_chunk,
        n_features).
    estimated_bytes : int
        Planned peak of the working arrays, in bytes (an estimate, because
        the activations of an arbitrary module are only estimated).
    """

    direction: str
    voxel_block: int
    stimulus_chunk: int
    inner_chunk: int
    estimated_bytes: int

    def as_dict(self):
        """Return the plan as a plain dict (for logs and HDF5 attrs)."""
        return {"path": "generic", **asdict(self)}


def budget_bytes(max_memory_gb):
    """Convert ``max_memory_gb`` to bytes, raising ConfigError if invalid."""
    try:
        value = float(max_memory_gb)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Invalid jacobian.max_memory_gb {max_memory_gb!r}: expected a "
            "positive number of gigabytes (10**9 bytes)."
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(
            f"Invalid jacobian.max_memory_gb {max_memory_gb!r}: expected a "
            "positive number of gigabytes (10**9 bytes)."
        )
    return int(value * GB)


def _check_override(name, value, upper):
    if value is None:
        return None
    if int(value) != value or value < 1:
        raise ConfigError(
            f"Invalid {name} {value!r}: expected a positive integer or None "
            "to plan it from max_memory_gb."
        )
    return min(int(value), upper)


def _too_small(budget, needed, computation):
    return ConfigError(
        f"jacobian.max_memory_gb={budget / GB:.3g} is too small for "
        f"{computation}: "
        f"the smallest blocks need about {needed / GB:.3g} GB. Raise "
        "jacobian.max_memory_gb."
    )


def plan_fast(
    n_stimuli,
    n_voxels,
    n_features,
    hidden_size,
    n_blocks,
    itemsize,
    budget,
    *,
    stimulus_chunk=None,
    voxel_chunk=None,
    cache=True,
    staging=False,
):
    """Plan the closed-form path for a ``ResidualMLP``.

    Parameters
    ----------
    n_stimuli, n_voxels, n_features, hidden_size, n_blocks : int
        Problem shape.
    itemsize : int
        Bytes per element of the compute dtype (4 or 8).
    budget : int
        Working-memory budget in bytes.
    stimulus_chunk, voxel_chunk : int, optional
        Fixed block sizes. Planned from ``budget`` when None.
    cache : bool, default=True
        Whether spare budget may keep products between the two passes.
    staging : bool, default=False
        Whether the approximate mode needs a chunk to gather sampled
        stimuli in.

    Returns
    -------
    FastPlan

    Raises
    ------
    ConfigError
        If even one stimulus and one voxel per block exceed ``budget``.
    """
    matrix_bytes = hidden_size * n_features * itemsize
    # Reference products (n_blocks + 2 arrays of shape (hidden_size,
    # n_features)) and the float64 sum of the mean pass.
    fixed = (n_blocks + 2) * matrix_bytes + hidden_size * n_features * 8
    # Per stimulus: the products and the matmul output they are updated
    # from, plus pre-activations and derivatives of every layer.
    per_stimulus = (
        2 * matrix_bytes + 4 * (n_blocks + 1) * hidden_size * itemsize
    )

    def per_voxel(s):
        # Output block, mean Jacobian rows and the two norm results.
        return (s * n_features + n_features + 2 * s) * itemsize

    available = budget - fixed
    smallest = fixed + per_stimulus + per_voxel(1)
    if available < per_stimulus + per_voxel(1):
        raise _too_small(budget, smallest, "the closed-form path")

    s = _check_override("stimulus_chunk", stimulus_chunk, n_stimuli)
    if s is None:
        target = max(1, math.ceil(TARGET_GEMM_COLUMNS / n_features))
        by_memory = max(1, (available // 4) // per_stimulus)
        s = min(n_stimuli, target, by_memory)
    v = _check_override("voxel_chunk", voxel_chunk, n_voxels)
    if v is None:
        by_memory = max(1, (available - s * per_stimulus) // per_voxel(s))
        v = min(n_voxels, TARGET_VOXEL_CHUNK, by_memory)
    working = fixed + s * per_stimulus + v * per_voxel(s)
    if staging:
        working += s * matrix_bytes
    if working > budget:
        raise _too_small(budget, working, f"blocks of {s} stimuli")

    n_chunks = math.ceil(n_stimuli / s)
    cached = 0
    if cache and n_chunks > 1:
        chunk_bytes = s * matrix_bytes
        cached = min(n_chunks, int((budget - working) // chunk_bytes))
    estimated = working + cached * s * matrix_bytes
    return FastPlan(s, v, cached, int(estimated))


def plan_generic(
    direction,
    n_stimuli,
    n_voxels,
    n_outputs,
    n_features,
    activation_size,
    itemsize,
    budget,
    *,
    stimulus_chunk=None,
    inner_chunk=None,
    voxel_block=None,
):
    """Plan the ``torch.func`` path.

    Parameters
    ----------
    direction : {"forward", "reverse"}
    n_stimuli : int
    n_voxels : int
        Voxels whose JNE is requested.
    n_outputs : int
        Width of the model output (at least ``n_voxels``). Every ``jvp``
        returns all of them and every ``vjp`` cotangent has this width.
    n_features : int
        Width of the model input.
    activation_size : int
        Estimated elements of intermediate activations per stimulus.
    itemsize : int
        Bytes per element of the compute dtype.
    budget : int
        Working-memory budget in bytes.
    stimulus_chunk, inner_chunk, voxel_block : int, optional
        Fixed block sizes. Planned from ``budget`` when None.

    Returns
    -------
    GenericPlan

    Raises
    ------
    ConfigError
        If ``direction`` is unknown or the smallest blocks exceed
        ``budget``.
    """
    if direction not in ("forward", "reverse"):
        raise ConfigError(
            f"Invalid differentiation direction {direction!r}: expected "
            "'forward' or 'reverse'."
        )
    safety = GENERIC_SAFETY_FACTOR
    # Mean Jacobian per voxel: reference rows, float64 sum, compute copy.
    per_block_voxel = n_features * (2 * itemsize + 8)
    activation_bytes = activation_size * itemsize * safety
    if direction == "forward":
        n_inner = n_features
        # jvp output (all model outputs) and tangent activations.
        per_pair = (n_outputs * 2 + n_features) * itemsize + activation_bytes
        # Primal activations.
        per_stimulus_fixed = activation_bytes

        def per_stimulus_block(block):
            # float64 sums of the deviation pass over direction chunks.
            return block * 8

    else:
        n_inner = n_voxels
        # Cotangent (all outputs), backward activations, Jacobian rows.
        per_pair = (n_outputs + n_features * 2) * itemsize + activation_bytes
        per_stimulus_fixed = activation_bytes

        def per_stimulus_block(block):
            return 0

    block = _check_override("voxel_block", voxel_block, n_voxels)
    if block is None:
        by_memory = (budget // 2) // per_block_voxel
        block = max(1, min(n_voxels, by_memory))
    available = budget - block * per_block_voxel
    if direction == "reverse":
        # Reverse mode runs inner chunks of voxels inside a block.
        n_inner = block

    inner = _check_override("inner_chunk", inner_chunk, n_inner)
    s = _check_override("stimulus_chunk", stimulus_chunk, n_stimuli)
    if inner is None:
        inner = min(n_inner, TARGET_INNER_CHUNK)
    smallest_stimulus = (
        inner * per_pair + per_stimulus_fixed + per_stimulus_block(block)
    )
    if s is None:
        # Shrink the inner chunk before giving up on the budget.
        while inner > 1 and available < smallest_stimulus:
            inner = max(1, inner // 2)
            smallest_stimulus = (
                inner * per_pair
                + per_stimulus_fixed
                + per_stimulus_block(block)
            )
        s = max(1, min(n_stimuli, available // max(1, smallest_stimulus)))
    estimated = block * per_block_voxel + s * smallest_stimulus
    if estimated > budget:
        raise _too_small(
            budget, estimated, f"the generic {direction}-mode path"
        )
    return GenericPlan(direction, block, s, inner, int(estimated))
