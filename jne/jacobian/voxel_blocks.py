"""Voxel side of the closed-form path: deviations from hidden products.

Given centred products ``Delta_i - mean Delta`` of a chunk of stimuli
(shape (H, s, D)), the deviations of a block of voxels are one matrix
product with the block's output weights followed by a row-wise L1 norm.
"""

import numpy as np
import torch


def write_voxel_blocks(
    weights, delta, mean_product, rows, store, plan, output
):
    """Write deviations and Jacobian norms of one chunk of stimuli.

    Parameters
    ----------
    weights : jne.jacobian.fast.ResidualWeights
        Its ``w_out`` rows are the voxels written.
    delta : tensor of shape (hidden_size, s, n_features), contiguous
        Centred products ``Delta_i - mean Delta`` of the chunk.
    mean_product : tensor of shape (hidden_size, n_features)
        ``mean A``, so that ``Jbar = W_out @ mean_product``.
    rows : slice
        Rows of the chunk in ``store``.
    store : jne.jacobian.store.DeviationStore
    plan : jne.jacobian.chunking.FastPlan
    output : tensor
        Buffer of at least voxel_chunk * s * n_features elements.
    """
    n_hidden, s, n_features = delta.shape
    n_voxels = weights.w_out.shape[0]
    flat = delta.view(n_hidden, s * n_features)
    for start in range(0, n_voxels, plan.voxel_chunk):
        columns = slice(start, min(start + plan.voxel_chunk, n_voxels))
        w_block = weights.w_out[columns]
        v = w_block.shape[0]
        block = output[: v * s * n_features].view(v, s * n_features)
        torch.matmul(w_block, flat, out=block)
        block = block.view(v, s, n_features)
        deviation = torch.linalg.vector_norm(block, ord=1, dim=2)
        # ||J_i||_1 from (J_i - Jbar) + Jbar, without a second product
        # of the size of the block.
        block.add_((w_block @ mean_product).unsqueeze(1))
        jacobian_l1 = torch.linalg.vector_norm(block, ord=1, dim=2)
        store.write(rows, columns, deviation.T.cpu().numpy())
        l1_sums = jacobian_l1.sum(dim=1, dtype=torch.float64)
        store.add_jacobian_l1(columns, l1_sums.cpu().numpy())


class SampledRows:
    """Sampled stimuli's products, gathered into full chunks.

    The sampled stimuli are spread over all chunks. Writing each chunk's
    few sampled stimuli at once would repeat ``W_out @ mean A`` (for
    ``||J_i||_1``) for every chunk and every voxel, so their products are
    copied into a staging chunk and written when it is full.
    """

    def __init__(
        self, sample, weights, mean_product, store, plan, output, staging
    ):
        self.sample = sample.cpu().numpy()
        self.weights = weights
        self.mean_product = mean_product
        self.store = store
        self.plan = plan
        self.output = output
        n_hidden, n_features = weights.hidden_size, weights.n_features
        size = plan.stimulus_chunk
        self.staging = staging[: n_hidden * size * n_features].view(
            n_hidden, size, n_features
        )
        self.filled = 0
        self.first_row = 0

    def add(self, delta, rows):
        """Copy the sampled stimuli among ``rows`` (a chunk's products)."""
        first = int(np.searchsorted(self.sample, rows.start))
        last = int(np.searchsorted(self.sample, rows.stop))
        local = torch.as_tensor(self.sample[first:last] - rows.start)
        local = local.to(delta.device)
        while len(local):
            take = min(len(local), self.staging.shape[1] - self.filled)
            end = self.filled + take
            self.staging[:, self.filled : end] = delta[:, local[:take]]
            self.filled = end
            local = local[take:]
            if self.filled == self.staging.shape[1]:
                self.flush()

    def flush(self):
        """Write the staged stimuli to the store and empty the stage."""
        if not self.filled:
            return
        staged = self.staging[:, : self.filled]
        if self.filled < self.staging.shape[1]:
            staged = staged.contiguous()
        rows = slice(self.first_row, self.first_row + self.filled)
        write_voxel_blocks(
            self.weights,
            staged,
            self.mean_product,
            rows,
            self.store,
            self.plan,
            self.output,
        )
        self.first_row = rows.stop
        self.filled = 0
