"""The one place where the simulation suite calls the JNE engine.

Every experiment in ``jne.simulation`` computes JNE through these three
functions, so that switching from the dense reference
(``jne.jacobian.dense``) to the streamed engine changes this file only.
The dense reference keeps all Jacobians in memory, which is fine here:
the simulated models are single units or networks with one output.

NOTE: the streamed engine ``jne.compute_jne`` is not used yet. Switching
to it changes the three functions below, and the tests of this package
then check it against the same known results.
"""

from jne.jacobian.dense import dense_jacobians, jne_from_jacobians


def model_jacobians(model, inputs):
    """Compute the Jacobian of ``model`` at every row of ``inputs``.

    Parameters
    ----------
    model : callable
        Maps a tensor of shape (n, n_features) to (n, n_outputs), row by
        row.
    inputs : tensor of shape (n_stimuli, n_features)

    Returns
    -------
    tensor of shape (n_stimuli, n_outputs, n_features)
    """
    return dense_jacobians(model, inputs)


def jne_of_jacobians(jacobians):
    """Compute JNE and JNE-SS from explicit Jacobians.

    Parameters
    ----------
    jacobians : tensor of shape (n_stimuli, n_outputs, n_features)

    Returns
    -------
    jne : tensor of shape (n_outputs,)
    jne_ss : tensor of shape (n_stimuli, n_outputs)
    """
    return jne_from_jacobians(jacobians)


def jne_of_model(model, inputs):
    """Compute JNE and JNE-SS of ``model`` at ``inputs``.

    Parameters
    ----------
    model : callable
        Maps a tensor of shape (n, n_features) to (n, n_outputs), row by
        row.
    inputs : tensor of shape (n_stimuli, n_features)

    Returns
    -------
    jne : tensor of shape (n_outputs,)
    jne_ss : tensor of shape (n_stimuli, n_outputs)
    """
    return jne_of_jacobians(model_jacobians(model, inputs))
