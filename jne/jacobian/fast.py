"""Closed-form JNE for ``jne.models.ResidualMLP``.

For the residual MLP (see ``jne.models.mlp``)::

    J_i = W_out A_i,
    A_i = (I + D_n W_n) ... (I + D_1 W_1) D_0 W_in,

with ``D_k = diag(phi'(z_k))`` the activation derivatives of stimulus i.
``A_i`` has shape (hidden_size, n_features), is shared by all voxels and
costs ``n_blocks * 2 * H**2 * D`` flops per stimulus. The mean Jacobian is
``W_out mean_i(A_i)``, so the L1 deviations of a block of voxels and
stimuli are one matrix product ``W_out[block] @ (A_i - mean A)`` followed
by a row-wise L1 norm.

Exact zeros for linear networks. Instead of ``A_i`` the engine builds
``Delta_i = A_i - A_0``, the difference to a reference stimulus (the
first one), through the recursion::

    Delta^0   = (D_0 - D_0^ref) W_in
    Delta^k   = Delta^{k-1} + D_k W_k Delta^{k-1}
                + (D_k - D_k^ref) W_k A_ref^{k-1}

When all stimuli share their derivatives (identity activation, or ReLU
units that never switch), every term is an exact zero, so ``Delta_i``,
its mean and every deviation are exactly 0 in floating point, whatever
the matrix-product kernels do. Deviations are ``W_out (Delta_i -
mean_k Delta_k)``, which equals ``J_i - Jbar``.

Two passes. The mean pass builds every ``Delta_i`` and sums them, within
a chunk in the compute dtype and across chunks in float64. The deviation
pass needs them again: chunks that fit in the budget are kept from the
mean pass, the others are built again.
"""

import logging
from dataclasses import dataclass, replace

import torch

from jne.jacobian.progress_log import LoopLog
from jne.jacobian.voxel_blocks import SampledRows, write_voxel_blocks
from jne.log import progress

logger = logging.getLogger(__name__)


@dataclass
class ResidualWeights:
    """Weights of a ``ResidualMLP`` as plain tensors in the compute dtype.

    Attributes
    ----------
    w_in : tensor of shape (hidden_size, n_features)
    b_in : tensor of shape (hidden_size,) or None
    blocks : list of (tensor of shape (hidden_size, hidden_size), bias)
    w_out : tensor of shape (n_voxels, hidden_size)
        Output weights of the voxels whose JNE is computed.
    phi, phi_grad : callable
        Activation and its derivative.
    """

    w_in: torch.Tensor
    b_in: torch.Tensor | None
    blocks: list
    w_out: torch.Tensor
    phi: object
    phi_grad: object

    @property
    def hidden_size(self):
        """Width H of the hidden layers."""
        return self.w_in.shape[0]

    @property
    def n_features(self):
        """Width D of the input."""
        return self.w_in.shape[1]


def extract_weights(model, dtype, device, voxel_index=None):
    """Copy the weights of a ``ResidualMLP`` for the closed-form path.

    Parameters
    ----------
    model : jne.models.ResidualMLP
    dtype : torch.dtype
    device : torch.device
    voxel_index : tensor of int of shape (n_selected,), optional
        Output units to keep, all by default.

    Returns
    -------
    ResidualWeights
        Tensors already in ``dtype`` on ``device`` are shared, not copied.
    """

    def convert(tensor):
        if tensor is None:
            return None
        return tensor.detach().to(device=device, dtype=dtype)

    w_out = convert(model.output_layer.weight)
    if voxel_index is not None:
        w_out = w_out[voxel_index.to(device)]
    blocks = [
        (convert(block.weight), convert(block.bias)) for block in model.blocks
    ]
    return ResidualWeights(
        w_in=convert(model.input_layer.weight),
        b_in=convert(model.input_layer.bias),
        blocks=blocks,
        w_out=w_out.contiguous(),
        phi=model.phi,
        phi_grad=model.phi_grad,
    )


def activation_derivatives(weights, x):
    """Return phi'(z_k) of every layer for stimuli ``x``.

    Parameters
    ----------
    weights : ResidualWeights
    x : tensor of shape (n, n_features)

    Returns
    -------
    list of tensors of shape (n, hidden_size)
        Derivatives of the input layer, then of each residual block.
    """
    z = torch.nn.functional.linear(x, weights.w_in, weights.b_in)
    derivatives = [weights.phi_grad(z)]
    h = weights.phi(z)
    for weight, bias in weights.blocks:
        z = torch.nn.functional.linear(h, weight, bias)
        derivatives.append(weights.phi_grad(z))
        h = weights.phi(z) + h
    return derivatives


class ReferenceProducts:
    """Hidden-to-input products of the reference stimulus.

    Attributes
    ----------
    derivatives : list of tensors of shape (hidden_size,)
        phi'(z_k) of the reference stimulus.
    inputs_to_block : list of tensors of shape (hidden_size, n_features)
        ``W_k A_ref^{k-1}`` for each residual block k.
    product : tensor of shape (hidden_size, n_features)
        ``A_ref``, the reference's full product.
    """

    def __init__(self, weights, x_ref):
        derivatives = activation_derivatives(weights, x_ref.unsqueeze(0))
        self.derivatives = [d[0] for d in derivatives]
        product = self.derivatives[0].unsqueeze(1) * weights.w_in
        self.inputs_to_block = []
        for (weight, _), derivative in zip(
            weights.blocks, self.derivatives[1:]
        ):
            pushed = weight @ product
            self.inputs_to_block.append(pushed)
            product = product + derivative.unsqueeze(1) * pushed
        self.product = product


def hidden_deviation(weights, reference, x, out, work):
    """Build ``Delta_i = A_i - A_ref`` for a chunk of stimuli.

    Parameters
    ----------
    weights : ResidualWeights
    reference : ReferenceProducts
    x : tensor of shape (s, n_features)
    out, work : tensor with at least H * s * n_features elements
        Buffers for the result and for the matrix products.

    Returns
    -------
    tensor of shape (hidden_size, s, n_features)
        A view of ``out``.
    """
    n_hidden, n_features = weights.hidden_size, weights.n_features
    s = x.shape[0]
    shape = (n_hidden, s, n_features)
    delta = out.view(-1)[: n_hidden * s * n_features].view(shape)
    pushed = work.view(-1)[: n_hidden * s * n_features].view(shape)
    derivatives = activation_derivatives(weights, x)

    # Delta^0 = (D_0 - D_0^ref) W_in, laid out as (H, s, n_features).
    switched = (derivatives[0] - reference.derivatives[0]).T.unsqueeze(2)
    torch.mul(switched, weights.w_in.unsqueeze(1), out=delta)
    for k, (weight, _) in enumerate(weights.blocks, start=1):
        torch.matmul(
            weight, delta.view(n_hidden, -1), out=pushed.view(n_hidden, -1)
        )
        pushed.mul_(derivatives[k].T.unsqueeze(2))
        delta.add_(pushed)
        switched = (derivatives[k] - reference.derivatives[k]).T.unsqueeze(2)
        delta.addcmul_(switched, reference.inputs_to_block[k - 1].unsqueeze(1))
    return delta


def compute_fast(
    weights, inputs, store, plan, sample=None, check=None, spill=None
):
    """Fill ``store`` with the L1 deviations of a ``ResidualMLP``.

    Parameters
    ----------
    weights : ResidualWeights
    inputs : tensor of shape (n_stimuli, n_features)
        In the compute dtype, on the compute device.
    store : jne.jacobian.store.DeviationStore
        Receives blocks of shape (stimulus_chunk, voxel_chunk), one row
        per stimulus of the deviation pass.
    plan : jne.jacobian.chunking.FastPlan
    sample : tensor of int of shape (n_sampled,), optional
        Sorted stimuli of the deviation pass. The mean Jacobian always
        comes from all stimuli. All stimuli by default.
    check : (tensor of int of shape (n_check,), DeviationStore), optional
        With ``sample``: voxels (rows of ``weights.w_out``) whose exact
        deviations for all stimuli go to the second store, to measure the
        error of the sampled estimate. Their products are built anyway,
        so the check costs only the check voxels' output products.
    spill : jne.jacobian.spill.ProductSpill, optional
        Scratch file for the products of chunks beyond the cache. Without
        it they are built again in the deviation pass.
    """
    n_hidden, n_features = weights.hidden_size, weights.n_features
    s_max = plan.stimulus_chunk
    options = dict(dtype=inputs.dtype, device=inputs.device)
    chunk_elements = n_hidden * s_max * n_features
    buffer = torch.empty(chunk_elements, **options)
    work = torch.empty(chunk_elements, **options)
    reference = ReferenceProducts(weights, inputs[0])
    # The deviation pass visits the same chunks as the mean pass, so that
    # cached chunks can be reused, unless it only needs sampled stimuli.
    all_chunks = sample is None or check is not None
    n_cached = plan.cached_chunks if all_chunks else 0
    if not all_chunks:
        spill = None

    # Mean pass over all stimuli: sum Delta_i and keep the first chunks.
    chunks = _chunks(inputs.shape[0], s_max)
    total = torch.zeros(
        n_hidden, n_features, dtype=torch.float64, device=inputs.device
    )
    cached = {}
    mean_log = LoopLog(logger, "JNE mean pass", len(chunks))
    for index, rows in enumerate(
        progress(chunks, desc="JNE mean pass", unit="chunk")
    ):
        if buffer is None:
            buffer = torch.empty(chunk_elements, **options)
        delta = hidden_deviation(
            weights, reference, inputs[rows], buffer, work
        )
        # Summing a chunk (a few dozen stimuli) in the compute dtype and
        # the chunk sums in float64 is accurate and much faster than a
        # float64 reduction over the middle axis.
        total += delta.sum(dim=1)
        if index < n_cached:
            cached[index] = delta
            buffer = None
        elif spill is not None:
            spill.write(index, delta)
        mean_log.advance()
    mean_total = total / inputs.shape[0]
    mean_delta = mean_total.to(inputs.dtype)
    mean_product = (reference.product.double() + mean_total).to(inputs.dtype)
    del total, mean_total

    # Deviation pass: cached chunks first, so that their memory is freed
    # before the others are built again. Cached chunks are the first ones,
    # so the order stays increasing.
    if all_chunks:
        deviation_inputs = inputs
    else:
        deviation_inputs = inputs[sample]
        chunks = _chunks(len(sample), s_max)
    order = sorted(range(len(chunks)), key=lambda i: i not in cached)
    output = torch.empty(plan.voxel_chunk * s_max * n_features, **options)
    sampled = None
    if sample is not None and check is not None:
        check_voxels, check_store = check
        check_weights = replace(weights, w_out=weights.w_out[check_voxels])
        staging = torch.empty(chunk_elements, **options)
        sampled = SampledRows(
            sample, weights, mean_product, store, plan, output, staging
        )
    deviation_log = LoopLog(logger, "JNE deviation pass", len(chunks))
    for index in progress(order, desc="JNE deviation pass", unit="chunk"):
        rows = chunks[index]
        if index in cached:
            delta = cached.pop(index)
        else:
            if buffer is None:
                buffer = torch.empty(chunk_elements, **options)
            if spill is not None and index in spill:
                delta = spill.read(index, buffer)
            else:
                delta = hidden_deviation(
                    weights, reference, deviation_inputs[rows], buffer, work
                )
        delta.sub_(mean_delta.unsqueeze(1))
        if sampled is None:
            write_voxel_blocks(
                weights, delta, mean_product, rows, store, plan, output
            )
        else:
            write_voxel_blocks(
                check_weights,
                delta,
                mean_product,
                rows,
                check_store,
                plan,
                output,
            )
            sampled.add(delta, rows)
        del delta
        deviation_log.advance()
    if sampled is not None:
        sampled.flush()


def _chunks(n, size):
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]
