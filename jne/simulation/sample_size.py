"""Number of stimuli JNE needs to track a known modulation.

A family of units indexed by ``t`` in ``[0, 2 pi]`` has curvature
proportional to ``sin(t)``, so the true JNE curve is proportional to
``|sin t|``. Each point of the curve gets its own N random stimuli, and
the Pearson correlation between the estimated curve and ``|sin t|``
measures how well N stimuli recover the modulation. Two families are
simulated:

``sin_unit``
    ``phi = sin`` over windows ``[t - delta, t + delta]`` with N inputs
    drawn uniformly in each window. JNE ~= ``|sin t| delta / sqrt(12)``
    (see :mod:`jne.simulation.single_unit`).
``quadratic``
    ``f_t(x) = sin(t) ||x||**2 / 2`` on N stimuli ``x ~ N(0, I_768)``,
    whose Jacobians ``sin(t) x`` are Gaussian vectors modulated by
    ``sin t``. Gao et al. (NeurIPS 2025) simulate the same Jacobians
    directly and report r = 0.87 at N = 10 and r >= 0.99 from N = 100.

The per-stimulus deviations ``d`` are nearly uniform in the first family
and nearly Gaussian in the second. The variance of a sample standard
deviation is about ``sigma**2 (kurtosis - 1) / (4 N)``, which is 2.5 times
larger for Gaussian (kurtosis 3) than for uniform (kurtosis 1.8) values,
so the second family needs about 2.5 times as many stimuli for the same
correlation.
"""

import logging
import math

import numpy as np
import pandas as pd
import torch

from jne.log import progress
from jne.simulation._engine import jne_of_jacobians, model_jacobians
from jne.simulation.single_unit import windows_jne

logger = logging.getLogger(__name__)

SAMPLE_SIZES = (10, 20, 30, 50, 100, 200, 300, 500, 1000)

# Number of curve points whose Jacobians are held in memory at once in the
# quadratic family: 100 x 1000 stimuli x 768 features in float32 is 300 MB.
_QUADRATIC_CHUNK = 100


def modulation_grid(n_points):
    """Return ``t``, evenly spaced on ``[0, 2 pi]``, and ``|sin t|``.

    Returns
    -------
    t : tensor of shape (n_points,), float64
    target : array of shape (n_points,)
    """
    t = torch.linspace(0.0, 2.0 * math.pi, n_points, dtype=torch.float64)
    return t, t.sin().abs().numpy()


def sin_unit_curve(n_stimuli, n_points, half_width, generator):
    """Estimate the JNE curve of ``phi = sin`` with random window inputs.

    Returns
    -------
    array of shape (n_points,)
    """
    t, _ = modulation_grid(n_points)
    noise = torch.rand(
        n_points, n_stimuli, generator=generator, dtype=torch.float64
    )
    inputs = t[:, None] + (2 * noise - 1) * half_width
    return windows_jne(torch.sin, inputs)


def _half_squared_norm(x):
    return 0.5 * (x**2).sum(dim=-1, keepdim=True)


def quadratic_curve(n_stimuli, n_points, n_features, generator):
    """Estimate the JNE curve of ``f_t(x) = sin(t) ||x||**2 / 2``.

    The engine computes the Jacobians of ``||x||**2 / 2`` on each point's
    own stimuli, and the chain rule multiplies them by ``sin t``, which
    lets one engine call handle a chunk of curve points.

    Returns
    -------
    array of shape (n_points,)
    """
    t, _ = modulation_grid(n_points)
    curve = []
    for start in range(0, n_points, _QUADRATIC_CHUNK):
        stop = min(start + _QUADRATIC_CHUNK, n_points)
        n_chunk = stop - start
        inputs = torch.randn(
            n_chunk * n_stimuli, n_features, generator=generator
        )
        jacobians = model_jacobians(_half_squared_norm, inputs)
        jacobians = jacobians.reshape(n_chunk, n_stimuli, n_features)
        scale = t[start:stop].sin().to(jacobians.dtype)
        jacobians = jacobians * scale[:, None, None]
        # (points, stimuli, features) -> (stimuli, points, features): each
        # curve point is one output with its own stimuli.
        jne, _ = jne_of_jacobians(jacobians.transpose(0, 1))
        curve.append(jne.numpy())
    return np.concatenate(curve)


def simulate_sample_size(
    sample_sizes=SAMPLE_SIZES,
    n_points=1001,
    half_width=0.05,
    n_features=768,
    seed=0,
):
    """Correlate JNE curves with ``|sin t|`` for each sample size.

    Parameters
    ----------
    sample_sizes : sequence of int, default=SAMPLE_SIZES
        Numbers of stimuli N per curve point.
    n_points : int, default=1001
        Points of ``t`` on ``[0, 2 pi]``.
    half_width : float, default=0.05
        Window half-width of the ``sin_unit`` family.
    n_features : int, default=768
        Stimulus dimension of the ``quadratic`` family.
    seed : int, default=0

    Returns
    -------
    correlations : pandas.DataFrame
        Columns ``family``, ``n_stimuli`` and ``correlation``.
    curves : dict
        ``(family, n_stimuli)`` -> array of shape (n_points,), the JNE
        curves, plus ``"t"`` and ``"target"``.
    """
    generator = torch.Generator().manual_seed(seed)
    t, target = modulation_grid(n_points)
    curves = {"t": t.numpy(), "target": target}
    rows = []
    for n_stimuli in progress(sample_sizes, desc="sample sizes", unit="N"):
        sin_curve = sin_unit_curve(n_stimuli, n_points, half_width, generator)
        quad_curve = quadratic_curve(
            n_stimuli, n_points, n_features, generator
        )
        for family, curve in (
            ("sin_unit", sin_curve),
            ("quadratic", quad_curve),
        ):
            curves[family, n_stimuli] = curve
            correlation = float(np.corrcoef(curve, target)[0, 1])
            rows.append((family, n_stimuli, correlation))
    logger.info(
        "sample size: N in %s, %d curve points", list(sample_sizes), n_points
    )
    correlations = pd.DataFrame(
        rows, columns=["family", "n_stimuli", "correlation"]
    )
    return correlations, curves
