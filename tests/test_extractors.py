"""Tests of the image feature extractors on tiny random transformers models.

The models are built by the tests with random weights and saved to a
temporary folder, so nothing is downloaded.
"""

import numpy as np
import pytest
import torch

from jne.errors import ConfigError
from jne.sources import extractors
from jne.sources.extractors import (
    ImageFeatureExtractor,
    available_extractors,
    make_extractor,
    register_extractor,
)
from jne.sources.image_features import cache_path, compute_features
from jne.sources.nsd import fetch_nsd
from tests.nsd_server import FileServer
from tests.nsd_tree import build_tiny_nsd

transformers = pytest.importorskip("transformers")

N_BLOCKS = 3
HIDDEN = 16


@pytest.fixture(scope="module")
def vit_folder(tmp_path_factory):
    """A randomly initialised ViT with 3 blocks, saved with its processor."""
    folder = tmp_path_factory.mktemp("tiny-vit")
    config = transformers.ViTConfig(
        hidden_size=HIDDEN,
        num_hidden_layers=N_BLOCKS,
        num_attention_heads=2,
        intermediate_size=32,
        image_size=16,
        patch_size=8,
    )
    torch.manual_seed(0)
    transformers.ViTModel(config, add_pooling_layer=False).save_pretrained(
        folder
    )
    processor = transformers.ViTImageProcessor(
        size={"height": 16, "width": 16}
    )
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 20, 24, 3), dtype=np.uint8)


class ArrayReader:
    """Images kept in memory, read by row like HDF5ImageReader."""

    def __init__(self, images):
        self.images = images
        self.reads = []

    def read(self, ids):
        self.reads.append(np.asarray(ids).tolist())
        return self.images[ids]


class CountingExtractor(ImageFeatureExtractor):
    """Wraps a real extractor and counts its calls."""

    def __init__(self, inner, fail_after=None):
        self.inner = inner
        self.layer_names = inner.layer_names
        self.calls = 0
        self.fail_after = fail_after

    def extract(self, images):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("interrupted on purpose")
        self.calls += 1
        return self.inner.extract(images)

    def identity(self):
        return self.inner.identity()


def _reference_hidden_states(folder, images):
    model = transformers.ViTModel.from_pretrained(folder).eval()
    processor = transformers.AutoImageProcessor.from_pretrained(folder)
    pixels = processor(images=list(images), return_tensors="pt")
    with torch.inference_mode():
        output = model(**pixels, output_hidden_states=True)
    return [h.numpy() for h in output.hidden_states]


def test_registry_lists_transformers():
    assert "transformers" in available_extractors()


def test_unknown_extractor_rejected():
    with pytest.raises(ConfigError, match="Available: .*transformers"):
        make_extractor("no-such-extractor")


def test_invalid_extractor_option_rejected(vit_folder):
    with pytest.raises(ConfigError, match="Invalid options"):
        make_extractor("transformers", model=str(vit_folder), colour=True)


def test_registered_extractor_usable(images):
    @register_extractor("test-mean-colour")
    class MeanColour(ImageFeatureExtractor):
        layer_names = ["rgb"]

        def extract(self, batch):
            return {"rgb": batch.mean(axis=(1, 2)).astype(np.float32)}

        def identity(self):
            return "mean-colour"

    try:
        extractor = make_extractor("test-mean-colour")
        features = extractor.extract(images)
    finally:
        extractors._REGISTRY.pop("test-mean-colour")

    np.testing.assert_allclose(features["rgb"], images.mean(axis=(1, 2)))


def test_vit_cls_token_of_every_block(vit_folder, images):
    extractor = make_extractor(
        "transformers", model=str(vit_folder), local_files_only=True
    )

    features = extractor.extract(images)

    assert extractor.layer_names == ["1", "2", "3"]
    assert list(features) == ["1", "2", "3"]
    hidden = _reference_hidden_states(vit_folder, images)
    for block in range(1, N_BLOCKS + 1):
        values = features[str(block)]
        assert values.shape == (5, HIDDEN)
        assert values.dtype == np.float32
        np.testing.assert_allclose(values, hidden[block][:, 0], atol=1e-5)
    assert not np.allclose(features["1"], features["3"])


def test_vit_layer_choice_and_mean_pooling(vit_folder, images):
    extractor = make_extractor(
        "transformers",
        model=str(vit_folder),
        layers=[0, 2],
        pooling="mean",
        local_files_only=True,
    )

    features = extractor.extract(images)

    assert list(features) == ["0", "2"]
    hidden = _reference_hidden_states(vit_folder, images)
    np.testing.assert_allclose(
        features["2"], hidden[2].mean(axis=1), atol=1e-5
    )


@pytest.mark.parametrize("layers", [[4], [-1], ["last"]])
def test_vit_invalid_layers_rejected(vit_folder, layers):
    with pytest.raises(ConfigError, match="Invalid layers"):
        make_extractor(
            "transformers",
            model=str(vit_folder),
            layers=layers,
            local_files_only=True,
        )


def test_missing_model_folder_rejected(tmp_path):
    with pytest.raises(ConfigError, match="Failed to load"):
        make_extractor(
            "transformers",
            model=str(tmp_path / "absent"),
            local_files_only=True,
        )


def test_clip_checkpoint_loads_vision_tower(tmp_path, images):
    config = transformers.CLIPConfig(
        text_config={
            "hidden_size": 8,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 16,
        },
        vision_config={
            "hidden_size": HIDDEN,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 32,
            "image_size": 16,
            "patch_size": 8,
        },
        projection_dim=8,
    )
    torch.manual_seed(1)
    transformers.CLIPModel(config).save_pretrained(tmp_path)
    transformers.CLIPImageProcessor(
        size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}
    ).save_pretrained(tmp_path)

    extractor = make_extractor(
        "transformers", model=str(tmp_path), local_files_only=True
    )
    features = extractor.extract(images)

    assert type(extractor.network).__name__ == "CLIPVisionModel"
    assert list(features) == ["1", "2"]
    assert features["2"].shape == (5, HIDDEN)


def test_features_follow_requested_order(vit_folder, images, tmp_path):
    extractor = make_extractor(
        "transformers", model=str(vit_folder), local_files_only=True
    )
    ids = np.array([4, 0, 3])

    features = compute_features(
        extractor, ArrayReader(images), ids, tmp_path, batch_size=2
    )

    direct = extractor.extract(images[ids])
    np.testing.assert_allclose(features["2"], direct["2"], atol=1e-5)


def test_features_cached_on_disk(vit_folder, images, tmp_path):
    inner = make_extractor(
        "transformers", model=str(vit_folder), local_files_only=True
    )
    counting = CountingExtractor(inner)
    ids = np.arange(5)

    first = compute_features(
        counting, ArrayReader(images), ids, tmp_path, batch_size=2
    )
    calls_after_first = counting.calls
    second = compute_features(
        counting, ArrayReader(images), ids, tmp_path, batch_size=2
    )

    assert calls_after_first == 3
    assert counting.calls == 3
    assert cache_path(tmp_path, counting, ids).is_file()
    np.testing.assert_array_equal(first["3"], second["3"])


def test_cache_key_depends_on_images(vit_folder, tmp_path):
    extractor = make_extractor(
        "transformers", model=str(vit_folder), local_files_only=True
    )

    first = cache_path(tmp_path, extractor, [0, 1, 2])
    second = cache_path(tmp_path, extractor, [0, 1, 3])

    assert first != second


def test_interrupted_features_resume(vit_folder, images, tmp_path):
    inner = make_extractor(
        "transformers", model=str(vit_folder), local_files_only=True
    )
    ids = np.arange(5)
    failing = CountingExtractor(inner, fail_after=2)
    with pytest.raises(RuntimeError, match="interrupted"):
        compute_features(
            failing, ArrayReader(images), ids, tmp_path, batch_size=2
        )

    reader = ArrayReader(images)
    resumed = compute_features(
        CountingExtractor(inner), reader, ids, tmp_path, batch_size=2
    )

    assert reader.reads == [[4]]
    expected = inner.extract(images)
    np.testing.assert_allclose(resumed["1"], expected["1"], atol=1e-5)


def test_fetch_nsd_with_extractor(vit_folder, tmp_path):
    tree = build_tiny_nsd(tmp_path / "tree", images=True)
    options = {
        "sessions": [1],
        "embeddings": {
            "extractor": "transformers",
            "model": str(vit_folder),
            "local_files_only": True,
            "layers": [1, 3],
            "batch_size": 64,
        },
        "download": {"retries": 2, "backoff": 0.01, "timeout": 10},
    }

    with FileServer(tree.root) as server:
        options["base_url"] = server.url
        dataset = fetch_nsd(
            "01", options, resources_dir=tmp_path / "res", name="nsd"
        )

    assert dataset.layers == ["1", "3"]
    assert dataset.embeddings["3"].shape == (dataset.n_stimuli, HIDDEN)
    cached = list((tmp_path / "res/nsd/features").glob("*.h5"))
    assert len(cached) == 1
    import h5py

    with h5py.File(
        tree.root / "nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5"
    ) as f:
        first_image = f["imgBrick"][int(dataset.stimuli["nsd_id"].iloc[0])]
    extractor = make_extractor(
        "transformers",
        model=str(vit_folder),
        layers=[3],
        local_files_only=True,
    )
    direct = extractor.extract(first_image[np.newaxis])
    np.testing.assert_allclose(
        dataset.embeddings["3"][0], direct["3"][0], atol=1e-5
    )
