"""JNE of a single unit over sliding input windows.

A unit ``y = phi(x)`` with one input and one output has the scalar
Jacobian ``phi'(x)``. For a window of inputs ``[c - delta, c + delta]``
(``delta`` is the half-width, as in Gao et al., NeurIPS 2025), a first-order
Taylor expansion gives ``phi'(c + u) - mean = phi''(c) u + O(delta**2)``.
The L1 deviation ``d = |phi''(c)| |u|`` is then uniform on
``[0, |phi''(c)| delta]``, whose standard deviation is

    JNE(c) ~= |phi''(c)| * delta / sqrt(12).

The error of this approximation is bounded in :func:`curvature_error_bound`.
For the piecewise linear ReLU and leaky ReLU, JNE is exactly 0 on windows
that do not contain the kink at 0. A window that contains it has two
Jacobian values, and JNE has the closed form of :func:`kink_jne`.
"""

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch

from jne.simulation._engine import jne_of_jacobians, model_jacobians
from jne.simulation.activations import get_activation

logger = logging.getLogger(__name__)

SQRT_12 = math.sqrt(12.0)


def window_inputs(centers, half_width, n_points):
    """Return evenly spaced inputs in each window ``[c - delta, c + delta]``.

    Parameters
    ----------
    centers : array of shape (n_windows,)
    half_width : float
        ``delta``, in input units.
    n_points : int
        Inputs per window, end points included. An odd number puts one
        input exactly at the centre.

    Returns
    -------
    tensor of shape (n_windows, n_points), float64
    """
    centers = torch.as_tensor(np.asarray(centers), dtype=torch.float64)
    offsets = torch.linspace(
        -half_width, half_width, n_points, dtype=torch.float64
    )
    return centers[:, None] + offsets[None, :]


def windows_jne(function, inputs):
    """Compute the JNE of a one-input unit over each window of inputs.

    Each window is one simulated "voxel" whose stimuli are the window's
    inputs, so one engine call handles all windows.

    Parameters
    ----------
    function : callable
        Elementwise map on tensors, the unit ``phi``.
    inputs : tensor of shape (n_windows, n_points)

    Returns
    -------
    array of shape (n_windows,)
    """
    n_windows, n_points = inputs.shape
    jacobians = model_jacobians(function, inputs.reshape(-1, 1))
    # (n_windows * n_points, 1, 1) -> (n_points, n_windows, 1): each window
    # becomes one output column with its own stimuli.
    jacobians = jacobians.reshape(n_windows, n_points).T.unsqueeze(-1)
    jne, _ = jne_of_jacobians(jacobians)
    return jne.numpy()


def window_jne(activation, centers, half_width, n_points):
    """Compute the JNE of ``phi`` over evenly spaced sliding windows.

    Parameters
    ----------
    activation : str
        Name from :data:`jne.simulation.activations.ACTIVATION_NAMES`.
    centers : array of shape (n_windows,)
    half_width : float
    n_points : int

    Returns
    -------
    array of shape (n_windows,)
    """
    inputs = window_inputs(centers, half_width, n_points)
    return windows_jne(get_activation(activation), inputs)


def _derivative(function, order):
    for _ in range(order):
        function = torch.func.grad(function)
    return torch.func.vmap(function)


def phi_derivative(activation, x, order):
    """Return the ``order``-th derivative of ``phi`` at ``x`` by autograd.

    Parameters
    ----------
    activation : str
    x : tensor of any shape, float64
    order : int
        1, 2 or 3.

    Returns
    -------
    tensor of the shape of ``x``
    """
    phi = get_activation(activation)
    flat = x.reshape(-1)
    return _derivative(phi, order)(flat).reshape(x.shape)


def curvature_reference(activation, centers, half_width):
    """Return ``|phi''(c)| * delta / sqrt(12)`` for each centre.

    Returns
    -------
    array of shape (n_windows,)
    """
    centers = torch.as_tensor(np.asarray(centers), dtype=torch.float64)
    second = phi_derivative(activation, centers, order=2)
    return (second.abs() * half_width / SQRT_12).numpy()


def curvature_error_bound(activation, centers, half_width, n_points):
    """Bound ``|JNE(c) - |phi''(c)| delta / sqrt(12)|`` for each window.

    Write ``J(c + u) = phi'(c) + phi''(c) u + R(u)`` with
    ``|R(u)| <= M3 delta**2 / 2``, where ``M3`` is the maximum of
    ``|phi'''|`` over the window. The standard deviation is a seminorm
    and ``||a| - |b|| <= |a - b|``, so JNE differs from the standard
    deviation of ``|phi''(c) u|`` by at most ``max |R|``. That standard
    deviation differs from ``|phi''(c)| delta / sqrt(12)`` only because
    the window contains a finite grid of inputs, which is computed exactly.

    ``M3`` is the maximum of ``|phi'''|`` over the window's own grid, an
    estimate of the true maximum that is accurate to about
    ``(2 delta / n_points)**2`` relative for these activations.

    Returns
    -------
    array of shape (n_windows,)
    """
    inputs = window_inputs(centers, half_width, n_points)
    third_max = phi_derivative(activation, inputs, order=3).abs().amax(1)
    offsets = inputs[0] - inputs[0].mean()
    grid_std = offsets.abs().std(correction=0).item()
    grid_term = abs(grid_std - half_width / SQRT_12)
    centers_t = torch.as_tensor(np.asarray(centers), dtype=torch.float64)
    second = phi_derivative(activation, centers_t, order=2).abs()
    bound = third_max * half_width**2 / 2 + second * grid_term
    return bound.numpy()


def kink_jne(left_slope, centers, half_width, n_points):
    """Return the exact JNE of a unit with a kink at 0 over each window.

    Inside a window, ``J`` is 1 at inputs above 0 and ``left_slope`` at
    the others (PyTorch sets the derivative at exactly 0 to the left
    slope). With a fraction ``p`` of inputs above 0, ``d`` takes the two
    values ``(1 - s)(1 - p)`` and ``(1 - s) p``, so

        JNE = (1 - s) |1 - 2 p| sqrt(p (1 - p)).

    This is 0 on linear pieces (p = 0 or 1) and also for a window centred
    on the kink (p = 1/2), the two-point blind spot of JNE.

    Returns
    -------
    array of shape (n_windows,)
    """
    inputs = window_inputs(centers, half_width, n_points)
    above = (inputs > 0).to(torch.float64).mean(1)
    value = (1 - left_slope) * (1 - 2 * above).abs()
    return (value * (above * (1 - above)).sqrt()).numpy()


def contains_kink(centers, half_width, n_points):
    """Return whether each window has inputs on both sides of the kink.

    Returns
    -------
    array of bool of shape (n_windows,)
    """
    inputs = window_inputs(centers, half_width, n_points)
    above = inputs > 0
    return (above.any(1) & ~above.all(1)).numpy()


@dataclass
class SingleUnitResult:
    """JNE curve of one activation and its reference.

    Attributes
    ----------
    activation : str
    centers : array of shape (n_windows,)
    jne : array of shape (n_windows,)
        JNE over each window.
    reference : array of shape (n_windows,)
        ``|phi''| delta / sqrt(12)`` for smooth activations, the exact
        two-point value of :func:`kink_jne` for ReLU and leaky ReLU.
    bound : array of shape (n_windows,) or None
        Error bound of :func:`curvature_error_bound` (smooth only).
    linear_piece : array of bool of shape (n_windows,) or None
        Windows that lie on one linear piece (piecewise linear only).
    """

    activation: str
    centers: np.ndarray
    jne: np.ndarray
    reference: np.ndarray
    bound: np.ndarray | None
    linear_piece: np.ndarray | None

    def correlation(self):
        """Return the Pearson correlation of JNE and the reference."""
        return float(np.corrcoef(self.jne, self.reference)[0, 1])

    def max_error(self):
        """Return the maximum absolute error against the reference."""
        return float(np.abs(self.jne - self.reference).max())

    def relative_error(self):
        """Return the maximum error divided by the reference's maximum."""
        return self.max_error() / float(self.reference.max())

    def bound_ratio(self):
        """Return the max over windows of error / bound (<= 1 if it is met).

        Returns NaN for piecewise linear activations, which have no bound.
        """
        if self.bound is None:
            return float("nan")
        error = np.abs(self.jne - self.reference)
        # Windows where phi'' and phi''' vanish have a zero bound and zero
        # error up to float64 rounding, which the 1e-15 floor absorbs.
        return float((error / np.maximum(self.bound, 1e-15)).max())

    def linear_piece_max(self):
        """Return the largest JNE on windows without the kink.

        Returns NaN for smooth activations.
        """
        if self.linear_piece is None:
            return float("nan")
        return float(self.jne[self.linear_piece].max())


def simulate_single_unit(
    activation, centers=None, half_width=0.05, n_points=1001
):
    """Compute one activation's JNE curve, its reference and error bound.

    Parameters
    ----------
    activation : str
    centers : array of shape (n_windows,), optional
        Window centres. Defaults to -10 to 10 in steps of 0.02.
    half_width : float, default=0.05
        ``delta``. With steps of 0.02, five windows contain the kink.
    n_points : int, default=1001
        Evenly spaced inputs per window.

    Returns
    -------
    SingleUnitResult
    """
    if centers is None:
        centers = np.linspace(-10.0, 10.0, 1001)
    centers = np.asarray(centers, dtype=np.float64)
    unit = get_activation(activation)
    jne = window_jne(activation, centers, half_width, n_points)
    if unit.smooth:
        reference = curvature_reference(activation, centers, half_width)
        bound = curvature_error_bound(
            activation, centers, half_width, n_points
        )
        linear_piece = None
    else:
        reference = kink_jne(unit.left_slope, centers, half_width, n_points)
        bound = None
        linear_piece = ~contains_kink(centers, half_width, n_points)
    logger.info(
        "single unit %s: %d windows of half-width %g, %d inputs each",
        activation,
        len(centers),
        half_width,
        n_points,
    )
    return SingleUnitResult(
        activation, centers, jne, reference, bound, linear_piece
    )
