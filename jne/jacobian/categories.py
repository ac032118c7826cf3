"""Stimulus categories and JNE-SS averaged within each category.

Categories come from the stimulus table when it has them. Otherwise
:func:`cluster_stimuli` follows the recipe of Gao et al. (NeurIPS 2025):
k-means on a 2-D t-SNE embedding of the stimulus features, with k chosen
by the silhouette score. They scanned k = 2..100 on 1000 images and got
43 clusters. The default range here is 2..30, because each k costs a
k-means fit and a silhouette score, but ``k_max`` can be raised to 100.
"""

import logging
import time
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from jne.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

# Default bytes of float64 work arrays when averaging over an HDF5 file.
AVERAGE_BLOCK_BYTES = 64 * 2**20


@dataclass
class StimulusClusters:
    """Clusters of stimuli found by :func:`cluster_stimuli`.

    Attributes
    ----------
    labels : ndarray of int of shape (n_stimuli,)
        Cluster of each stimulus, 0 .. n_clusters - 1.
    n_clusters : int
        The k with the highest silhouette score.
    silhouette : dict of int to float
        Silhouette score of every k tried.
    embedding : ndarray of shape (n_stimuli, 2)
        The t-SNE embedding that was clustered.
    """

    labels: np.ndarray
    n_clusters: int
    silhouette: dict
    embedding: np.ndarray


def cluster_stimuli(
    features, *, k_min=2, k_max=30, seed=0, perplexity=30.0, n_threads=1
):
    """Cluster stimuli by k-means on a 2-D t-SNE embedding of features.

    Parameters
    ----------
    features : array of shape (n_stimuli, n_features)
        Stimulus features, for example the encoding model's inputs.
    k_min, k_max : int, default=2, 30
        Range of cluster counts scanned, both included. ``k_max`` is
        lowered to n_stimuli - 1 if needed.
    seed : int, default=0
        Seed of t-SNE and k-means.
    perplexity : float, default=30.0
        t-SNE perplexity, lowered to (n_stimuli - 1) / 3 for small sets.
    n_threads : int, default=1
        OpenMP and BLAS threads for t-SNE and k-means. One thread is the
        default because t-SNE opens a parallel region per iteration, and
        on cores shared with other jobs that collapses. On a 2-core VM
        with other processes running, 1000 x 768 features took 10 s
        with one thread and 37 s with two, and 40 stimuli took 0.5 s
        and 48 s.

    Returns
    -------
    StimulusClusters
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 4:
        raise DataError(
            f"Invalid features of shape {features.shape} for clustering: "
            "expected (n_stimuli, n_features) with at least 4 stimuli."
        )
    n_stimuli = features.shape[0]
    k_max = min(int(k_max), n_stimuli - 1)
    if int(k_min) < 2 or int(k_min) > k_max:
        raise ConfigError(
            f"Invalid cluster range jacobian.k_min={k_min}, "
            f"jacobian.k_max={k_max}: need 2 <= k_min <= k_max < "
            f"n_stimuli ({n_stimuli})."
        )
    start = time.perf_counter()
    perplexity = min(float(perplexity), (n_stimuli - 1) / 3)
    with threadpool_limits(limits=int(n_threads)):
        embedding = TSNE(
            n_components=2,
            perplexity=perplexity,
            init="pca",
            random_state=seed,
        ).fit_transform(features)
        scores, labels_by_k = _scan_k(embedding, int(k_min), k_max, seed)
    if not scores:
        raise DataError(
            "k-means found fewer than 2 distinct clusters for every k: the "
            "stimulus features may be identical. Pass categories instead."
        )
    best = max(scores, key=scores.get)
    logger.info(
        "clustered %d stimuli into %d groups (silhouette %.3f, k = %d..%d) "
        "in %.1f s",
        n_stimuli,
        best,
        scores[best],
        k_min,
        k_max,
        time.perf_counter() - start,
    )
    return StimulusClusters(labels_by_k[best], best, scores, embedding)


def _scan_k(embedding, k_min, k_max, seed):
    """Return silhouette scores and labels of k-means for each k."""
    scores = {}
    labels_by_k = {}
    for k in range(k_min, k_max + 1):
        labels = KMeans(
            n_clusters=k, n_init=10, random_state=seed
        ).fit_predict(embedding)
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = float(silhouette_score(embedding, labels))
        labels_by_k[k] = labels
    return scores, labels_by_k


def average_by_category(jne_ss, categories, *, block_bytes=None):
    """Average JNE-SS over the stimuli of each category, per voxel.

    Parameters
    ----------
    jne_ss : ndarray or h5py.Dataset of shape (n_stimuli, n_voxels)
    categories : array of shape (n_stimuli,)
        Category label of each stimulus (str or int).
    block_bytes : int, optional
        Size of the work arrays when reading in column blocks.

    Returns
    -------
    names : ndarray of shape (n_categories,)
        Sorted unique labels.
    means : ndarray of shape (n_categories, n_voxels), float64
    counts : ndarray of int of shape (n_categories,)
        Stimuli per category.
    """
    categories = np.asarray(categories)
    n_stimuli, n_voxels = jne_ss.shape
    if categories.shape != (n_stimuli,):
        raise DataError(
            f"Invalid categories of shape {categories.shape}: expected one "
            f"label per stimulus, shape ({n_stimuli},)."
        )
    names, codes, counts = np.unique(
        categories, return_inverse=True, return_counts=True
    )
    weights = np.zeros((len(names), n_stimuli))
    weights[codes, np.arange(n_stimuli)] = 1.0 / counts[codes]
    means = np.empty((len(names), n_voxels))
    block_bytes = block_bytes or AVERAGE_BLOCK_BYTES
    width = max(1, block_bytes // (8 * n_stimuli))
    chunks = getattr(jne_ss, "chunks", None)
    if chunks:
        width = max(chunks[1], width // chunks[1] * chunks[1])
    for start in range(0, n_voxels, width):
        columns = slice(start, min(start + width, n_voxels))
        block = np.asarray(jne_ss[:, columns], dtype=np.float64)
        means[:, columns] = weights @ block
    return names, means, counts
