"""JNE of any differentiable module with ``torch.func``.

The model must map a tensor of shape (n, n_features) to (n, n_outputs)
row by row, so that output row i depends only on input row i (true of
MLPs, and of normalisation layers in eval mode). Then one ``jvp`` with
the same tangent on every row returns a column of every stimulus's
Jacobian, and one ``vjp`` with a one-hot cotangent on every row returns a
row of it.

Forward mode (``jvp``) walks over chunks of stimuli and of input
feature directions. Each call returns ``J_i[:, d]`` for every output, an array of
shape (inner_chunk, stimulus_chunk, n_outputs). It costs about one model
evaluation per feature direction, so it suits n_features < n_voxels.

Reverse mode (``vjp``) walks over chunks of stimuli and of voxels. Each
call returns ``J_i[m, :]``, an array of shape (inner_chunk,
stimulus_chunk, n_features). It costs about one backward pass per voxel,
and for a dense output layer that backward pass itself grows with the
number of outputs, so it suits few voxels.

Both run two passes over the stimuli: the mean pass sums ``J_i - J_ref``
in float64 (``J_ref`` is the first stimulus's Jacobian), the deviation
pass computes ``||J_i - Jbar||_1`` with ``Jbar = J_ref + mean(J_i -
J_ref)``. Only one Jacobian block exists at a time, and the mean Jacobian
is held for a block of voxels (all of them unless the budget forbids it).

NOTE: identical Jacobians cancel exactly only if autograd returns them
bit for bit. Matrix-product kernels may round the rows of a batch
differently (observed with MKL), so a deep linear network can give
deviations at rounding level here (about 1e-7 relative in float32). The
closed-form path for ``ResidualMLP`` returns exact zeros.
"""

import logging

import torch

from jne.jacobian.progress_log import LoopLog
from jne.log import progress

logger = logging.getLogger(__name__)


def module_function(model, dtype, device):
    """Return ``model`` as a pure function of its input.

    Parameters and buffers are detached copies in ``dtype`` on
    ``device``, so the caller's module is not modified and autograd does
    not track its weights.
    """
    params = {
        name: value.detach().to(device=device, dtype=dtype)
        for name, value in model.named_parameters()
    }
    buffers = {}
    for name, value in model.named_buffers():
        value = value.detach().to(device=device)
        if value.is_floating_point():
            value = value.to(dtype)
        buffers[name] = value

    def function(x):
        return torch.func.functional_call(model, (params, buffers), (x,))

    return function


def estimate_activation_size(model, function, x):
    """Estimate the elements of intermediate activations per stimulus.

    Sums the output sizes of every leaf module for one stimulus. Tensors
    made by functional calls inside ``forward`` are not seen, which
    ``chunking.GENERIC_SAFETY_FACTOR`` allows for.

    Returns
    -------
    int
    """
    sizes = []

    def record(module, args, output):
        if isinstance(output, torch.Tensor):
            sizes.append(output.numel())

    handles = [
        module.register_forward_hook(record)
        for module in model.modules()
        if not list(module.children())
    ]
    try:
        with torch.no_grad():
            output = function(x[:1])
    finally:
        for handle in handles:
            handle.remove()
    return int(sum(sizes) + x.shape[1] + output.numel())


def _chunks(n, size):
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def _forward_block(function, x, directions, columns):
    """Return J[:, :, directions] of the chunk, shape (c, s, n_columns)."""
    s, n_features = x.shape
    tangents = torch.zeros(
        len(directions), s, n_features, dtype=x.dtype, device=x.device
    )
    tangents[torch.arange(len(directions)), :, directions] = 1

    def push(tangent):
        return torch.func.jvp(function, (x,), (tangent,))[1]

    jacobian = torch.func.vmap(push)(tangents)
    if columns is not None:
        jacobian = jacobian.index_select(2, columns)
    return jacobian


def _reverse_block(pullback, s, n_outputs, columns, dtype, device):
    """Return J[columns] of the chunk, shape (v, s, n_features)."""
    v = len(columns)
    cotangents = torch.zeros(v, s, n_outputs, dtype=dtype, device=device)
    cotangents[torch.arange(v), :, columns] = 1
    return torch.func.vmap(pullback)(cotangents)[0]


def compute_generic_forward(
    function, inputs, voxel_index, store, plan, sample=None
):
    """Fill ``store`` using forward-mode differentiation.

    Parameters
    ----------
    function : callable
        Maps (n, n_features) to (n, n_outputs) row by row.
    inputs : tensor of shape (n_stimuli, n_features)
    voxel_index : tensor of int of shape (n_voxels,) or None
        Output columns whose JNE is computed, in store order. None means
        every output.
    store : jne.jacobian.store.DeviationStore
    plan : jne.jacobian.chunking.GenericPlan
    sample : tensor of int of shape (n_sampled,), optional
        Stimuli of the deviation pass. The mean Jacobian always comes
        from all stimuli. All stimuli by default.
    """
    n_stimuli, n_features = inputs.shape
    n_voxels = store.n_voxels
    deviation_inputs = inputs if sample is None else inputs[sample]
    mean_chunks = _chunks(n_stimuli, plan.stimulus_chunk)
    deviation_chunks = _chunks(len(deviation_inputs), plan.stimulus_chunk)
    directions = torch.arange(n_features, device=inputs.device)
    direction_chunks = _chunks(n_features, plan.inner_chunk)
    options = dict(dtype=inputs.dtype, device=inputs.device)
    f64 = dict(dtype=torch.float64, device=inputs.device)
    for block in _chunks(n_voxels, plan.voxel_block):
        width = block.stop - block.start
        if voxel_index is not None:
            columns = voxel_index[block]
        elif width < n_voxels:
            columns = torch.arange(
                block.start, block.stop, device=inputs.device
            )
        else:
            columns = None

        # Mean pass. reference and total have shape (width, n_features).
        reference = torch.empty(width, n_features, **options)
        total = torch.zeros(width, n_features, **f64)
        mean_log = LoopLog(logger, "JNE mean pass", len(mean_chunks))
        for index, rows in enumerate(
            progress(mean_chunks, desc="JNE mean pass", unit="chunk")
        ):
            x = inputs[rows]
            for part in direction_chunks:
                jacobian = _forward_block(
                    function, x, directions[part], columns
                )
                if index == 0:
                    reference[:, part] = jacobian[:, 0, :].T
                jacobian -= reference[:, part].T.unsqueeze(1)
                total[:, part] += jacobian.sum(dim=1, dtype=torch.float64).T
            mean_log.advance()
        mean = (reference.double() + total / n_stimuli).to(inputs.dtype)
        del reference, total

        # Deviation pass: accumulate the L1 norm over direction chunks.
        deviation_log = LoopLog(
            logger, "JNE deviation pass", len(deviation_chunks)
        )
        for rows in progress(
            deviation_chunks, desc="JNE deviation pass", unit="chunk"
        ):
            x = deviation_inputs[rows]
            deviation = torch.zeros(x.shape[0], width, **f64)
            jacobian_l1 = torch.zeros(width, **f64)
            for part in direction_chunks:
                jacobian = _forward_block(
                    function, x, directions[part], columns
                )
                norms = torch.linalg.vector_norm(jacobian, ord=1, dim=0)
                jacobian_l1 += norms.sum(dim=0, dtype=torch.float64)
                jacobian -= mean[:, part].T.unsqueeze(1)
                deviation += torch.linalg.vector_norm(jacobian, ord=1, dim=0)
            store.write(rows, block, deviation.cpu().numpy())
            store.add_jacobian_l1(block, jacobian_l1.cpu().numpy())
            deviation_log.advance()


def compute_generic_reverse(
    function, inputs, voxel_index, store, plan, sample=None
):
    """Fill ``store`` using reverse-mode differentiation.

    Parameters
    ----------
    function : callable
        Maps (n, n_features) to (n, n_outputs) row by row.
    inputs : tensor of shape (n_stimuli, n_features)
    voxel_index : tensor of int of shape (n_voxels,)
        Output columns whose JNE is computed, in store order.
    store : jne.jacobian.store.DeviationStore
    plan : jne.jacobian.chunking.GenericPlan
    sample : tensor of int of shape (n_sampled,), optional
        Stimuli of the deviation pass, all by default.
    """
    n_stimuli, n_features = inputs.shape
    n_voxels = len(voxel_index)
    deviation_inputs = inputs if sample is None else inputs[sample]
    mean_chunks = _chunks(n_stimuli, plan.stimulus_chunk)
    deviation_chunks = _chunks(len(deviation_inputs), plan.stimulus_chunk)
    options = dict(dtype=inputs.dtype, device=inputs.device)
    f64 = dict(dtype=torch.float64, device=inputs.device)
    for block in _chunks(n_voxels, plan.voxel_block):
        width = block.stop - block.start
        block_columns = voxel_index[block]
        voxel_chunks = _chunks(width, plan.inner_chunk)
        reference = torch.empty(width, n_features, **options)
        total = torch.zeros(width, n_features, **f64)
        mean_log = LoopLog(logger, "JNE mean pass", len(mean_chunks))
        for index, rows in enumerate(
            progress(mean_chunks, desc="JNE mean pass", unit="chunk")
        ):
            output, pullback = torch.func.vjp(function, inputs[rows])
            s, n_outputs = output.shape
            for part in voxel_chunks:
                jacobian = _reverse_block(
                    pullback, s, n_outputs, block_columns[part], **options
                )
                if index == 0:
                    reference[part] = jacobian[:, 0, :]
                jacobian -= reference[part].unsqueeze(1)
                total[part] += jacobian.sum(dim=1, dtype=torch.float64)
            mean_log.advance()
        mean = (reference.double() + total / n_stimuli).to(inputs.dtype)
        del reference, total

        deviation_log = LoopLog(
            logger, "JNE deviation pass", len(deviation_chunks)
        )
        for rows in progress(
            deviation_chunks, desc="JNE deviation pass", unit="chunk"
        ):
            output, pullback = torch.func.vjp(function, deviation_inputs[rows])
            s, n_outputs = output.shape
            deviation = torch.empty(s, width, **options)
            jacobian_l1 = torch.empty(width, **f64)
            for part in voxel_chunks:
                jacobian = _reverse_block(
                    pullback, s, n_outputs, block_columns[part], **options
                )
                norms = torch.linalg.vector_norm(jacobian, ord=1, dim=2)
                jacobian_l1[part] = norms.sum(dim=1, dtype=torch.float64)
                jacobian -= mean[part].unsqueeze(1)
                deviation[:, part] = torch.linalg.vector_norm(
                    jacobian, ord=1, dim=2
                ).T
            store.write(rows, block, deviation.cpu().numpy())
            store.add_jacobian_l1(block, jacobian_l1.cpu().numpy())
            deviation_log.advance()
