"""Reference JNE from a dense Jacobian tensor.

This is the definition written out literally. It holds the full
(n_stimuli, n_voxels, n_features) tensor in memory, so it is only meant for
small problems: tests, simulations and checking the streamed engine.

For stimuli x_1..x_N and a model f with Jacobians J_i = df(x_i)/dx_i::

    Jbar      = mean_i J_i
    d[i, m]   = sum_d |J_i[m, d] - Jbar[m, d]|
    mu[m]     = mean_i d[i, m]
    JNE[m]    = sqrt(mean_i (d[i, m] - mu[m])**2)      (ddof = 0)
    JNESS[i, m] = (d[i, m] - mu[m])**2
"""

import torch


def jne_from_jacobians(jacobians):
    """Compute JNE and JNE-SS from explicit Jacobians.

    Parameters
    ----------
    jacobians : tensor of shape (n_stimuli, n_voxels, n_features)

    Returns
    -------
    jne : tensor of shape (n_voxels,)
    jne_ss : tensor of shape (n_stimuli, n_voxels)
    """
    mean_jacobian = jacobians.mean(dim=0, keepdim=True)
    deviation = (jacobians - mean_jacobian).abs().sum(dim=-1)
    centred = deviation - deviation.mean(dim=0, keepdim=True)
    jne_ss = centred**2
    return jne_ss.mean(dim=0).sqrt(), jne_ss


def dense_jacobians(model, inputs):
    """Return every Jacobian of ``model`` at ``inputs`` with autograd.

    Parameters
    ----------
    model : callable
        Maps a tensor of shape (n, n_features) to (n, n_voxels), row by row.
    inputs : tensor of shape (n_stimuli, n_features)

    Returns
    -------
    tensor of shape (n_stimuli, n_voxels, n_features)
    """

    def single(x):
        return model(x.unsqueeze(0)).squeeze(0)

    return torch.func.vmap(torch.func.jacrev(single))(inputs)


def jne_dense(model, inputs):
    """Compute JNE and JNE-SS of ``model`` at ``inputs`` densely.

    Returns
    -------
    jne : tensor of shape (n_voxels,)
    jne_ss : tensor of shape (n_stimuli, n_voxels)
    """
    return jne_from_jacobians(dense_jacobians(model, inputs))
