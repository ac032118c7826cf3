"""The two-point blind spot of JNE.

JNE is the standard deviation of the per-stimulus L1 deviations
``d_i = ||J_i - Jbar||_1``, not their size. When the Jacobians take two
values ``a`` and ``b`` with fractions ``p`` and ``1 - p``, ``Jbar`` lies
on the segment between them and

    d = (1 - p) ||a - b||_1   for the stimuli with J = a,
    d = p ||a - b||_1         for the others,

so that

    mean(d) = 2 p (1 - p) ||a - b||_1,
    JNE     = |1 - 2 p| sqrt(p (1 - p)) ||a - b||_1.

At p = 1/2 every stimulus has the same deviation and JNE = 0, however far
apart ``a`` and ``b`` are. A ReLU unit ``relu(w . x)`` or the V-shaped
``|w . x|`` on a stimulus set that is symmetric about 0 is exactly this
case: strongly nonlinear, and JNE = 0.
"""

import logging

import numpy as np
import pandas as pd
import torch

from jne.simulation._engine import jne_of_jacobians, model_jacobians

logger = logging.getLogger(__name__)


def mean_deviation(jacobians):
    """Return the mean over stimuli of ``||J_i - Jbar||_1`` (first output).

    This is ``mu`` in the definition of JNE: how far the Jacobians are
    from their mean on average, the quantity that JNE does not report.

    Parameters
    ----------
    jacobians : tensor of shape (n_stimuli, n_outputs, n_features)

    Returns
    -------
    float
    """
    centred = jacobians - jacobians.mean(dim=0, keepdim=True)
    return float(centred.abs().sum(dim=-1).mean(dim=0)[0])


def two_point_jacobians(proportion, n_stimuli, first, second):
    """Stack ``first`` for a share of the stimuli, ``second`` for the rest.

    Parameters
    ----------
    proportion : float
        Fraction p of stimuli with Jacobian ``first``, rounded to whole
        stimuli.
    n_stimuli : int
    first, second : tensor of shape (n_features,)

    Returns
    -------
    tensor of shape (n_stimuli, 1, n_features)
    """
    n_first = int(round(proportion * n_stimuli))
    rows = [first.expand(n_first, -1), second.expand(n_stimuli - n_first, -1)]
    return torch.cat(rows).unsqueeze(1)


def two_point_curve(proportions=None, n_stimuli=1000, n_features=768, seed=0):
    """Compute JNE and mean deviation of two-point Jacobian distributions.

    Parameters
    ----------
    proportions : array of shape (n_proportions,), optional
        Values of p. Defaults to 0 to 1 in steps of 0.01.
    n_stimuli : int, default=1000
    n_features : int, default=768
    seed : int, default=0

    Returns
    -------
    pandas.DataFrame
        Columns ``proportion``, ``jne``, ``expected_jne`` (closed form),
        ``mean_deviation`` (the mean of ``d``) and ``distance``
        (``||a - b||_1``).
    """
    if proportions is None:
        proportions = np.linspace(0.0, 1.0, 101)
    generator = torch.Generator().manual_seed(seed)
    first = torch.randn(n_features, generator=generator, dtype=torch.float64)
    second = torch.randn(n_features, generator=generator, dtype=torch.float64)
    distance = float((first - second).abs().sum())
    rows = []
    for proportion in proportions:
        jacobians = two_point_jacobians(proportion, n_stimuli, first, second)
        jne, _ = jne_of_jacobians(jacobians)
        p = int(round(proportion * n_stimuli)) / n_stimuli
        expected = abs(1 - 2 * p) * np.sqrt(p * (1 - p)) * distance
        rows.append(
            (p, float(jne[0]), expected, mean_deviation(jacobians), distance)
        )
    columns = [
        "proportion",
        "jne",
        "expected_jne",
        "mean_deviation",
        "distance",
    ]
    return pd.DataFrame(rows, columns=columns)


def symmetric_units(n_stimuli=1000, n_features=768, seed=0):
    """Compute JNE of ReLU and absolute-value units on symmetric stimuli.

    The stimuli are ``x_1..x_{n/2}`` and their negatives, so ``w . x`` is
    positive for exactly half of them. A second set of independent
    Gaussian stimuli shows how far from 0 JNE is when the split is only
    close to half.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit`` (``relu`` or ``abs``), ``stimuli`` (``symmetric``
        or ``independent``), ``jne``, ``mean_deviation`` and
        ``fraction_positive`` (fraction of stimuli with ``w . x > 0``).
    """
    generator = torch.Generator().manual_seed(seed)
    weights = torch.randn(
        n_features, 1, generator=generator, dtype=torch.float64
    )
    half = torch.randn(
        n_stimuli // 2, n_features, generator=generator, dtype=torch.float64
    )
    stimulus_sets = {
        "symmetric": torch.cat([half, -half]),
        "independent": torch.randn(
            n_stimuli, n_features, generator=generator, dtype=torch.float64
        ),
    }
    units = {
        "relu": lambda x: torch.relu(x @ weights),
        "abs": lambda x: (x @ weights).abs(),
    }
    rows = []
    for stimuli_name, stimuli in stimulus_sets.items():
        positive = float(((stimuli @ weights) > 0).double().mean())
        for unit_name, unit in units.items():
            jacobians = model_jacobians(unit, stimuli)
            jne, _ = jne_of_jacobians(jacobians)
            rows.append(
                (
                    unit_name,
                    stimuli_name,
                    float(jne[0]),
                    mean_deviation(jacobians),
                    positive,
                )
            )
    logger.info(
        "blind spot: ReLU and |.| units on %d stimuli of %d features",
        n_stimuli,
        n_features,
    )
    columns = ["unit", "stimuli", "jne", "mean_deviation", "fraction_positive"]
    return pd.DataFrame(rows, columns=columns)
