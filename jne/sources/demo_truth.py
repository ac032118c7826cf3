"""Ground-truth encoding model of the demo dataset.

The simulated response of voxel m to a stimulus with z-scored features x
is::

    z     = x P                                  (K whitened latent features)
    lin_m = z a_m                                (unit variance over stimuli)
    h     = phi(z C + t)                         (H hidden units)
    raw_m = g_c(z) h b_m   or   h b_m            (gated or not)
    nl_m  = s_m (raw_m - z r_m - r0_m)           (unit variance over stimuli)
    y_m   = sigma_m (sqrt(1 - w_m) lin_m + sqrt(w_m) nl_m)

P is made of the first K principal axes of the features, scaled so that z
has unit variance per column. ``nl_m`` is the part of ``raw_m`` that no
linear function of z explains, because the least-squares fit
``z r_m + r0_m`` over all stimuli is subtracted. So ``lin_m`` and
``nl_m`` are uncorrelated over the stimuli, and ``w_m`` (the nonlinear
weight) is exactly the fraction of the voxel's signal variance that is
not linear in z. ``sigma_m`` is the
voxel's signal standard deviation. In ROIs tied to one category c the
hidden-unit readout is multiplied by ``g_c(z)``, a logistic gate that is
close to 1 for stimuli of that category and close to 0 for the others, so
the voxel is nonlinear for that category only.

The tuning weights a_m and b_m are smooth random fields on the cortical
mesh, so neighbouring vertices have similar tuning.
"""

import logging
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from jne.errors import ConfigError
from jne.jacobian.dense import jne_from_jacobians
from jne.log import progress
from jne.sources.demo_surface import smooth_field

logger = logging.getLogger(__name__)

TRUTH_ACTIVATIONS = {"tanh": torch.tanh, "softplus": nn.functional.softplus}
# Weights with one entry per voxel along their last axis.
PER_VOXEL = {
    "linear",
    "readout",
    "residual",
    "gate_index",
    "residual_bias",
    "nonlinear_scale",
    "nonlinear_weight",
    "signal_std",
}


class GroundTruthEncoder(nn.Module):
    """Known stimulus-to-response model of the demo's simulated voxels.

    Build it with :func:`build_ground_truth`. All weights are buffers, so
    ``.double()`` converts them and nothing is trainable.

    Parameters
    ----------
    weights : dict of str to array
        ``projection`` (n_features, K), ``linear`` (K, n_voxels),
        ``hidden`` (K, H), ``hidden_bias`` (H,), ``readout`` (H, n_voxels),
        ``gate_weight`` (K, G), ``gate_bias`` (G,), ``gate_index``
        (n_voxels,) with -1 for ungated voxels, ``residual`` (K, n_voxels),
        ``residual_bias`` (n_voxels,), ``nonlinear_scale`` (n_voxels,),
        ``nonlinear_weight`` (n_voxels,), ``signal_std`` (n_voxels,).
    activation : {"tanh", "softplus"}
    """

    def __init__(self, weights, activation="tanh"):
        super().__init__()
        if activation not in TRUTH_ACTIVATIONS:
            raise ConfigError(
                f"Invalid demo option truth_activation={activation!r}: use "
                f"one of {', '.join(TRUTH_ACTIVATIONS)}."
            )
        self.activation = activation
        for key, value in weights.items():
            tensor = torch.as_tensor(np.asarray(value))
            if key != "gate_index":
                tensor = tensor.to(torch.float32)
            self.register_buffer(key, tensor)

    @property
    def n_voxels(self):
        return self.linear.shape[1]

    def subset(self, voxels):
        """Return a copy restricted to ``voxels`` (int array)."""
        weights = {}
        for key, value in self.named_buffers():
            value = value.cpu().numpy()
            if key in PER_VOXEL:
                value = value[..., voxels]
            weights[key] = value
        subset = GroundTruthEncoder(weights, activation=self.activation)
        return subset.to(self.linear.dtype)

    def parts(self, x, voxels=None):
        """Return the unit-variance linear and nonlinear parts.

        Parameters
        ----------
        x : tensor of shape (n_stimuli, n_features)
            Features z-scored over the demo's stimuli.
        voxels : tensor of int, optional
            Voxels to compute; all by default.

        Returns
        -------
        linear, nonlinear : tensors of shape (n_stimuli, n_selected)
        """
        return self.latent_parts(x @ self.projection, voxels)

    def latent_parts(self, z, voxels=None):
        """Like :meth:`parts`, from latent features z = x P of shape
        (n_stimuli, K)."""
        if voxels is None:
            voxels = torch.arange(self.n_voxels)
        linear = z @ self.linear[:, voxels]
        hidden = TRUTH_ACTIVATIONS[self.activation](
            z @ self.hidden + self.hidden_bias
        )
        raw = hidden @ self.readout[:, voxels]
        gates = torch.sigmoid(z @ self.gate_weight + self.gate_bias)
        # Column 0 is "no gate" (all ones); gated voxels pick column c + 1.
        gates = torch.cat([torch.ones_like(raw[:, :1]), gates], dim=1)
        raw = raw * gates[:, self.gate_index[voxels] + 1]
        fitted = z @ self.residual[:, voxels] + self.residual_bias[voxels]
        nonlinear = (raw - fitted) * self.nonlinear_scale[voxels]
        return linear, nonlinear

    def latent_forward(self, z, voxels=None):
        """Return responses of shape (n_stimuli, n_selected) to latent
        features z of shape (n_stimuli, K)."""
        if voxels is None:
            voxels = torch.arange(self.n_voxels)
        linear, nonlinear = self.latent_parts(z, voxels)
        weight = self.nonlinear_weight[voxels]
        mixed = (
            torch.sqrt(1 - weight) * linear + torch.sqrt(weight) * nonlinear
        )
        return self.signal_std[voxels] * mixed

    def forward(self, x, voxels=None):
        """Return responses of shape (n_stimuli, n_selected) to z-scored
        features x of shape (n_stimuli, n_features)."""
        return self.latent_forward(x @ self.projection, voxels)


def latent_projection(features, n_latent):
    """Return P of shape (n_features, K): whitened principal axes.

    ``features`` (n_stimuli, n_features) must already be z-scored; ``x P``
    then has zero mean and unit variance per column over these stimuli.
    """
    _, singular, axes = np.linalg.svd(features, full_matrices=False)
    scale = np.sqrt(len(features)) / singular[:n_latent]
    return axes[:n_latent].T * scale


def category_gates(latent, categories, gated):
    """Fit one logistic gate per gated category.

    Parameters
    ----------
    latent : array of shape (n_stimuli, K)
    categories : array of str of shape (n_stimuli,)
    gated : list of str
        Categories that get a gate.

    Returns
    -------
    weight : array of shape (K, n_gated)
    bias : array of shape (n_gated,)
    """
    weight = np.zeros((latent.shape[1], len(gated)))
    bias = np.zeros(len(gated))
    for i, category in enumerate(gated):
        target = categories == category
        classifier = LogisticRegression(C=1.0, max_iter=2000)
        classifier.fit(latent, target)
        weight[:, i] = classifier.coef_[0]
        bias[i] = classifier.intercept_[0]
        accuracy = classifier.score(latent, target)
        logger.info(
            "Gate for category %r separates its stimuli with %.1f%% "
            "accuracy",
            category,
            100 * accuracy,
        )
    return weight, bias


def build_ground_truth(
    features,
    categories,
    roi,
    adjacency,
    signal_std,
    nonlinear_weight,
    category_rois,
    rng,
    *,
    n_latent=6,
    n_hidden=12,
    hidden_scale=1.5,
    activation="tanh",
    smoothing_steps=30,
):
    """Draw a ground-truth encoder for one simulated subject.

    Parameters
    ----------
    features : array of shape (n_stimuli, n_features)
        Truth-layer features, z-scored over the stimuli.
    categories : array of str of shape (n_stimuli,)
    roi : array of str of shape (n_voxels,)
    adjacency : sparse matrix of shape (n_voxels, n_voxels)
        Mesh edges, for smooth tuning.
    signal_std : array of shape (n_voxels,)
        Signal standard deviation sigma_m of each voxel.
    nonlinear_weight : array of shape (n_voxels,)
        w_m in [0, 1].
    category_rois : dict of str to str
        ROI name to the category for which it is nonlinear.
    rng : numpy.random.Generator
    n_latent, n_hidden : int
        K and H of the model.
    hidden_scale : float
        Standard deviation of the hidden pre-activations. Above about 1,
        tanh units saturate for many stimuli and bend strongly.
    activation : {"tanh", "softplus"}
    smoothing_steps : int
        Mesh smoothing steps of the tuning fields.

    Returns
    -------
    GroundTruthEncoder
    """
    n_voxels = len(roi)
    projection = latent_projection(features, n_latent)
    latent = features @ projection

    linear = smooth_field(adjacency, n_latent, smoothing_steps, rng)
    linear /= np.linalg.norm(linear, axis=0, keepdims=True)
    readout = smooth_field(adjacency, n_hidden, smoothing_steps, rng)
    hidden = rng.standard_normal((n_latent, n_hidden)) * (
        hidden_scale / np.sqrt(n_latent)
    )
    hidden_bias = rng.standard_normal(n_hidden) * 0.5 * hidden_scale

    gated = sorted(set(category_rois.values()))
    unknown = sorted(set(gated) - set(categories))
    if unknown:
        raise ConfigError(
            f"The demo option category_rois names categories {unknown} "
            f"that the stimuli do not have. Known categories: "
            f"{', '.join(sorted(set(categories)))}."
        )
    gate_weight, gate_bias = category_gates(latent, categories, gated)
    gate_index = np.full(n_voxels, -1, dtype=np.int64)
    for name, category in category_rois.items():
        gate_index[roi == name] = gated.index(category)

    weights = {
        "projection": projection,
        "linear": linear,
        "hidden": hidden,
        "hidden_bias": hidden_bias,
        "readout": readout,
        "gate_weight": gate_weight,
        "gate_bias": gate_bias,
        "gate_index": gate_index,
        "residual": np.zeros((n_latent, n_voxels)),
        "residual_bias": np.zeros(n_voxels),
        "nonlinear_scale": np.ones(n_voxels),
        "nonlinear_weight": nonlinear_weight,
        "signal_std": signal_std,
    }
    model = GroundTruthEncoder(weights, activation=activation).double()

    # Remove the linear part of the raw nonlinear term by least squares,
    # then scale both parts to unit variance over the stimuli.
    with torch.no_grad():
        x = torch.as_tensor(features, dtype=torch.float64)
        linear_part, raw = model.parts(x)
    design = np.column_stack([latent, np.ones(len(latent))])
    coefficients, *_ = np.linalg.lstsq(design, raw.numpy(), rcond=None)
    residual = raw.numpy() - design @ coefficients
    model.residual.copy_(torch.as_tensor(coefficients[:-1]))
    model.residual_bias.copy_(torch.as_tensor(coefficients[-1]))
    model.nonlinear_scale.copy_(torch.as_tensor(1 / residual.std(axis=0)))
    model.linear /= linear_part.std(dim=0, correction=0)
    return model


def true_jacobians(model, inputs, voxels):
    """Return the exact Jacobians of ``model`` for some voxels.

    The model depends on x only through z = x P, so by the chain rule
    dy/dx = (dy/dz) P^T, and dy/dz has a closed form (m: voxel, c: the
    voxel's gate)::

        d raw_m/dz = g_c (B^T diag(phi'(z C + t)) C^T)_m
                     + h b_m g_c (1 - g_c) u_c
        dy_m/dz    = sigma_m (sqrt(1 - w_m) a_m
                              + sqrt(w_m) s_m (d raw_m/dz - r_m))

    with g_c = 1 and no second term for ungated voxels. The tests check
    it against autograd on every kind of voxel.

    Parameters
    ----------
    model : GroundTruthEncoder
    inputs : tensor of shape (n_stimuli, n_features)
    voxels : tensor of int of shape (n_selected,)

    Returns
    -------
    tensor of shape (n_stimuli, n_selected, n_features)
    """
    latent = inputs @ model.projection
    pre = latent @ model.hidden + model.hidden_bias
    hidden = TRUTH_ACTIVATIONS[model.activation](pre)
    if model.activation == "tanh":
        slope = 1 - hidden**2
    else:
        slope = torch.sigmoid(pre)
    readout = model.readout[:, voxels]
    raw = hidden @ readout
    raw_jacobian = torch.einsum("nh,hm,kh->nmk", slope, readout, model.hidden)

    gates = torch.sigmoid(latent @ model.gate_weight + model.gate_bias)
    gate_slopes = (gates * (1 - gates)).unsqueeze(2) * model.gate_weight.T
    # Column 0 is "no gate": value 1 and zero derivative.
    gates = torch.cat([torch.ones_like(gates[:, :1]), gates], dim=1)
    gate_slopes = torch.cat(
        [torch.zeros_like(gate_slopes[:, :1]), gate_slopes], dim=1
    )
    column = model.gate_index[voxels] + 1
    raw_jacobian = (
        gates[:, column, None] * raw_jacobian
        + raw[:, :, None] * gate_slopes[:, column, :]
    )

    weight = model.nonlinear_weight[voxels]
    nonlinear_jacobian = model.nonlinear_scale[voxels, None] * (
        raw_jacobian - model.residual[:, voxels].T
    )
    latent_jacobians = model.signal_std[voxels, None] * (
        torch.sqrt(1 - weight)[:, None] * model.linear[:, voxels].T
        + torch.sqrt(weight)[:, None] * nonlinear_jacobian
    )
    return latent_jacobians @ model.projection.T


def true_jne(model, inputs, categories, *, chunk_size=256):
    """Compute the exact JNE and per-category JNE-SS of the truth.

    The Jacobians come from :func:`true_jacobians` and JNE from the dense
    reference :func:`jne.jacobian.dense.jne_from_jacobians`, in float64,
    on chunks of voxels, so memory stays at about
    ``n_stimuli x chunk_size x n_features x 8`` bytes.

    Parameters
    ----------
    model : GroundTruthEncoder
    inputs : array of shape (n_stimuli, n_features)
        Z-scored features of the stimuli on which JNE is defined.
    categories : array of str of shape (n_stimuli,)
    chunk_size : int, default=256

    Returns
    -------
    jne : array of shape (n_voxels,)
    jne_ss_category : array of shape (n_categories, n_voxels)
    category_names : array of str of shape (n_categories,)
    """
    start = time.perf_counter()
    model = model.double()
    x = torch.as_tensor(inputs, dtype=torch.float64)
    names = np.array(sorted(set(categories)))
    members = [np.flatnonzero(categories == c) for c in names]
    jne = np.empty(model.n_voxels)
    by_category = np.empty((len(names), model.n_voxels))
    chunks = range(0, model.n_voxels, chunk_size)
    for first in progress(chunks, desc="true JNE", unit="chunk"):
        voxels = torch.arange(first, min(first + chunk_size, model.n_voxels))
        with torch.no_grad():
            jacobians = true_jacobians(model, x, voxels)
            values, per_stimulus = jne_from_jacobians(jacobians)
        jne[voxels.numpy()] = values.numpy()
        per_stimulus = per_stimulus.numpy()
        for row, index in enumerate(members):
            by_category[row, voxels.numpy()] = per_stimulus[index].mean(axis=0)
    logger.info(
        "Computed the true JNE of %d voxels on %d stimuli in %.1f s",
        model.n_voxels,
        len(inputs),
        time.perf_counter() - start,
    )
    return jne, by_category, names
