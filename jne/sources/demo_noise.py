"""Noise levels and single-trial responses of the demo dataset.

Each voxel has a noise-ceiling signal-to-noise ratio ``ncsnr``, defined
as for the Natural Scenes Dataset (Allen et al., Nature Neuroscience
2022). It is the standard deviation of the stimulus-driven signal divided
by that of the trial-to-trial noise. Here the two variances sum to 1.
The demo draws ``ncsnr`` from a smooth log-normal field on the mesh, with
a few patches of nearly unresponsive voxels. With the defaults and 3 repeats,
about 6 % of the voxels have a noise ceiling below 5 % and about 56 %
have one between 20 and 60 % (measured on the default demo, subjects 01
and 02, seed 0).

A trial's response is the signal of its stimulus plus spatially smooth
noise, shifted and scaled per session (the slow drifts that z-scoring
within sessions removes) and shifted slightly per run.
"""

import logging

import numpy as np

from jne.sources.demo_surface import smooth_field, smooth_noise

logger = logging.getLogger(__name__)


def noise_ceiling(ncsnr, n_repeats):
    """Return the noise ceiling in percent for responses averaged over
    ``n_repeats`` trials: ``100 n ncsnr**2 / (1 + n ncsnr**2)``."""
    ratio = n_repeats * np.asarray(ncsnr) ** 2
    return 100 * ratio / (1 + ratio)


def draw_ncsnr(
    adjacency,
    rng,
    *,
    median=0.55,
    spread=0.5,
    unresponsive_fraction=0.08,
    smoothing_steps=10,
):
    """Draw a spatially smooth noise-ceiling SNR per voxel.

    Parameters
    ----------
    adjacency : sparse matrix of shape (n_voxels, n_voxels)
    rng : numpy.random.Generator
    median : float, default=0.55
        Median ncsnr of responsive voxels.
    spread : float, default=0.5
        Standard deviation of log(ncsnr).
    unresponsive_fraction : float, default=0.08
        Fraction of voxels, in smooth patches, whose ncsnr is scaled down
        to near 0.
    smoothing_steps : int, default=10

    Returns
    -------
    array of shape (n_voxels,)
    """
    fields = smooth_field(adjacency, 2, smoothing_steps, rng)
    ncsnr = median * np.exp(spread * fields[0])
    if unresponsive_fraction > 0:
        threshold = np.quantile(fields[1], unresponsive_fraction)
        # A steep logistic step in units of the field's standard deviation:
        # 0.5 at the threshold, below 0.05 from 0.5 below it.
        ncsnr *= 1 / (1 + np.exp(-6 * (fields[1] - threshold)))
    return ncsnr


def simulate_betas(
    signal,
    shown,
    session,
    run,
    noise_std,
    adjacency,
    rng,
    *,
    smoothing_steps=3,
    session_offset_sd=1.0,
    session_scale_sd=0.1,
    run_offset_sd=0.1,
):
    """Simulate single-trial responses.

    ``betas[t, m] = scale[s, m] * (signal[i_t, m] + noise_std[m] * e[t, m]
    + run_offset[r, m]) + offset[s, m]`` for trial t showing stimulus i_t
    in session s and run r. ``e`` is unit-variance noise smoothed on the
    mesh. Session offsets and log-scales drift as random walks over
    sessions, so z-scoring within sessions removes them. Run offsets are
    small, and only z-scoring within runs removes them.

    Parameters
    ----------
    signal : array of shape (n_stimuli, n_voxels)
        Noise-free responses.
    shown : array of int of shape (n_trials,)
        Stimulus row of each trial.
    session, run : arrays of int of shape (n_trials,)
    noise_std : array of shape (n_voxels,)
    adjacency : sparse matrix of shape (n_voxels, n_voxels)
    rng : numpy.random.Generator
    smoothing_steps : int, default=3
        Mesh smoothing steps of the noise; 3 steps give neighbouring
        vertices a noise correlation of about 0.7.
    session_offset_sd, session_scale_sd, run_offset_sd : float
        Standard deviations of the session offset steps, the session
        log-scale steps and the run offsets, in units of the response's
        standard deviation.

    Returns
    -------
    array of float32 of shape (n_trials, n_voxels)
    """
    n_trials = len(shown)
    n_voxels = signal.shape[1]
    noise = smooth_noise(adjacency, n_trials, smoothing_steps, rng)
    betas = signal[shown].astype(np.float32) + noise * noise_std.astype(
        np.float32
    )

    sessions = np.unique(session)
    offsets = np.cumsum(
        rng.normal(0, session_offset_sd, (len(sessions), n_voxels)), axis=0
    )
    scales = np.exp(
        np.cumsum(
            rng.normal(0, session_scale_sd, (len(sessions), n_voxels)),
            axis=0,
        )
    )
    for k, s in enumerate(sessions):
        in_session = session == s
        for r in np.unique(run[in_session]):
            in_run = in_session & (run == r)
            betas[in_run] += rng.normal(0, run_offset_sd, n_voxels)
        betas[in_session] *= scales[k].astype(np.float32)
        betas[in_session] += offsets[k].astype(np.float32)
    logger.info(
        "Simulated %d trials x %d voxels in %d sessions",
        n_trials,
        n_voxels,
        len(sessions),
    )
    return betas
