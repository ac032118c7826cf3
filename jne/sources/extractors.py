"""Image feature extractors, chosen by name from a registry.

An extractor turns a batch of RGB images into one feature vector per image
and per layer. Sources call :func:`make_extractor` with a name from the
config, so a new model family needs only a subclass of
:class:`ImageFeatureExtractor` decorated with :func:`register_extractor`.

Registered here:

``"transformers"``
    A Hugging Face ``transformers`` vision model (ViT, CLIP, DINOv2, ...)
    from a local folder or a hub id. Features are the CLS token (or the
    mean of the tokens) of the output of every transformer block, as in
    Gao et al., "Jacobian-Based Interpretation of Nonlinear Neural Encoding
    Model", NeurIPS 2025, which used the CLS token of each block of a CLIP
    ViT-B.
"""

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from jne.errors import ConfigError

logger = logging.getLogger(__name__)

_REGISTRY = {}


def register_extractor(name):
    """Register an :class:`ImageFeatureExtractor` subclass under ``name``."""

    def decorate(cls):
        if name in _REGISTRY:
            raise ValueError(f"Extractor name {name!r} is already taken.")
        _REGISTRY[name] = cls
        cls.name = name
        return cls

    return decorate


def available_extractors():
    """Return the registered extractor names, sorted."""
    return sorted(_REGISTRY)


def make_extractor(name, **options):
    """Build the extractor registered as ``name`` with ``options``."""
    if name not in _REGISTRY:
        raise ConfigError(
            f"Unknown image feature extractor {name!r}. Available: "
            f"{', '.join(available_extractors())}."
        )
    try:
        return _REGISTRY[name](**options)
    except TypeError as error:
        raise ConfigError(
            f"Invalid options for extractor {name!r}: {error}."
        ) from error


class ImageFeatureExtractor:
    """Base class of image feature extractors.

    Subclasses set :attr:`layer_names` and implement :meth:`extract` and
    :meth:`identity`.
    """

    name = "base"
    layer_names = ()

    def extract(self, images):
        """Compute the features of a batch of images.

        Parameters
        ----------
        images : array of uint8 of shape (n_images, height, width, 3)

        Returns
        -------
        dict of str to array of float32 of shape (n_images, n_features)
            One entry per layer, in :attr:`layer_names` order.
        """
        raise NotImplementedError

    def identity(self):
        """Return a string that changes whenever the features would change.

        Feature caches are keyed by it, with the image ids.
        """
        raise NotImplementedError


@register_extractor("transformers")
class TransformersVisionExtractor(ImageFeatureExtractor):
    """Hidden states of every block of a ``transformers`` vision model.

    Parameters
    ----------
    model : str
        Local folder written by ``save_pretrained`` (with the model's
        ``preprocessor_config.json``) or a Hugging Face hub id, e.g.
        ``"openai/clip-vit-base-patch32"``. Full CLIP checkpoints load
        only their vision tower.
    device : {"cpu", "cuda"}
        NOTE: only the CPU path has been run by the tests.
    layers : list of int, optional
        Block numbers to keep, from 1 (first block) to the number of
        blocks; 0 is the patch embedding output. Default: every block.
    pooling : {"cls", "mean"}
        ``"cls"`` keeps the first token, the CLS token of ViT, CLIP and
        DINOv2. ``"mean"`` averages all tokens, for models without one.
    revision : str, optional
        Hub revision (branch, tag or commit) to load.
    local_files_only : bool
        Load only from the local folder or the hub cache.
    """

    def __init__(
        self,
        model,
        *,
        device="cpu",
        layers=None,
        pooling="cls",
        revision=None,
        local_files_only=False,
    ):
        import torch
        import transformers

        if pooling not in ("cls", "mean"):
            raise ConfigError(
                f"Invalid pooling {pooling!r}: use 'cls' or 'mean'."
            )
        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                "device is 'cuda' but torch finds no CUDA GPU. Set device "
                "to 'cpu' or run on a GPU node."
            )
        self.model_name = str(model)
        self.device = torch.device(device)
        self.pooling = pooling
        self.revision = revision
        load = {"revision": revision, "local_files_only": local_files_only}

        try:
            config = transformers.AutoConfig.from_pretrained(model, **load)
            if config.model_type == "clip":
                network = transformers.CLIPVisionModel.from_pretrained(
                    model, **load
                )
            else:
                network = transformers.AutoModel.from_pretrained(model, **load)
            processor = transformers.AutoImageProcessor.from_pretrained(
                model, **load
            )
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"Failed to load the vision model or its image processor "
                f"from {model!r}: {error}. Give a folder written by "
                "save_pretrained that also contains "
                "preprocessor_config.json, or a hub id."
            ) from error
        if hasattr(network, "vision_model") and config.model_type != "clip":
            network = network.vision_model
        self.network = network.to(self.device).eval()
        self.processor = processor

        n_blocks = self._count_blocks()
        self.n_blocks = n_blocks
        if layers is None:
            layers = list(range(1, n_blocks + 1))
        bad = [
            k
            for k in layers
            if not (str(k).isdigit() and 0 <= int(k) <= n_blocks)
        ]
        if bad:
            raise ConfigError(
                f"Invalid layers {bad} for {model!r}, which has {n_blocks} "
                f"blocks: use numbers from 0 to {n_blocks}."
            )
        self.layers = [int(k) for k in layers]
        self.layer_names = [str(k) for k in self.layers]
        logger.info(
            "Loaded %s (%s, %d blocks) on %s, features: %s token of "
            "layers %s",
            self.model_name,
            type(network).__name__,
            n_blocks,
            self.device,
            pooling,
            ", ".join(self.layer_names),
        )

    def _count_blocks(self):
        config = self.network.config
        n_blocks = getattr(config, "num_hidden_layers", None)
        if n_blocks is None:
            raise ConfigError(
                f"{self.model_name!r} has no num_hidden_layers in its "
                "config, so its blocks cannot be counted. Use a "
                "transformer vision model such as ViT or CLIP."
            )
        return int(n_blocks)

    def extract(self, images):
        import torch

        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(
                f"images must have shape (n, height, width, 3), got "
                f"{images.shape}."
            )
        inputs = self.processor(images=list(images), return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device)
        with torch.inference_mode():
            output = self.network(
                pixel_values=pixels, output_hidden_states=True
            )
        hidden = output.hidden_states
        if len(hidden) != self.n_blocks + 1:
            # Layer k is hidden_states[k] only if the embedding output
            # comes first, as in ViT and CLIP.
            raise ConfigError(
                f"{self.model_name!r} returned {len(hidden)} hidden states "
                f"for {self.n_blocks} blocks, expected {self.n_blocks + 1} "
                "(embeddings, then each block). Use a ViT-like model."
            )
        features = {}
        for layer, name in zip(self.layers, self.layer_names):
            states = hidden[layer]
            if self.pooling == "cls":
                pooled = states[:, 0, :]
            else:
                pooled = states.mean(dim=1)
            features[name] = pooled.float().cpu().numpy()
        return features

    def identity(self):
        parts = {
            "extractor": self.name,
            "model": self.model_name,
            "revision": self.revision,
            "pooling": self.pooling,
            "layers": self.layers,
            "processor": self.processor.to_dict(),
        }
        folder = Path(self.model_name)
        if folder.is_dir():
            # A local folder can be overwritten with other weights, so
            # the key includes the size and time of every file in it.
            parts["files"] = sorted(
                (p.name, p.stat().st_size, p.stat().st_mtime_ns)
                for p in folder.iterdir()
                if p.is_file()
            )
        text = json.dumps(parts, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        slug = os.path.basename(self.model_name.rstrip("/")) or "model"
        return f"{self.name}-{slug}-{digest}"
