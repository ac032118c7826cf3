"""Every path of compute_jne against the dense autograd definition."""

import numpy as np
import pytest
import torch
from torch import nn

from jne.errors import ConfigError, DataError
from jne.jacobian import compute_jne, jne_dense
from jne.jacobian.dense import dense_jacobians
from jne.models import ACTIVATIONS, ResidualMLP

N_STIMULI, N_FEATURES, HIDDEN, N_VOXELS = 23, 6, 16, 11
NONLINEAR = sorted(name for name in ACTIVATIONS if name != "identity")

# Forward-mode AD in torch 2.13 loads its decompositions with
# torch.jit.script, which warns about its own deprecation.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)


def make_model(activation="relu", bias=True, n_blocks=2, seed=0):
    torch.manual_seed(seed)
    model = ResidualMLP(
        N_FEATURES, N_VOXELS, HIDDEN, n_blocks, activation, bias=bias
    )
    return model.double()


def make_inputs(seed=1, n_stimuli=N_STIMULI, n_features=N_FEATURES):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(
        n_stimuli, n_features, generator=generator, dtype=torch.float64
    )


def dense_reference(model, inputs):
    """Return jne, jne_ss, deviation and mean ||J_i||_1 from autograd."""
    jacobians = dense_jacobians(model, inputs).detach()
    jne, jne_ss = jne_dense(model, inputs)
    deviation = (jacobians - jacobians.mean(0)).abs().sum(-1)
    mean_l1 = jacobians.abs().sum(-1).mean(0)
    return {
        "jne": jne.detach().numpy(),
        "jne_ss": jne_ss.detach().numpy(),
        "deviation": deviation.numpy(),
        "mean_jacobian_l1": mean_l1.numpy(),
    }


def chunk_options(mode, size):
    """Chunk arguments that exercise ``size`` on the path ``mode``."""
    if size is None:
        return {}
    options = {"stimulus_chunk": size, "voxel_chunk": size}
    if mode == "forward":
        options["feature_chunk"] = size
        # One stimulus, one feature and one voxel per block means 3000
        # jvp calls here. Single-stimulus chunks are covered by the other
        # paths, so forward mode keeps several stimuli per chunk.
        options["stimulus_chunk"] = max(size, 5)
    return options


def assert_matches_dense(result, reference):
    for name in ("jne", "jne_ss", "deviation", "mean_jacobian_l1"):
        np.testing.assert_allclose(
            np.asarray(getattr(result, name)),
            reference[name],
            rtol=1e-5,
            atol=1e-12,
            err_msg=name,
        )


# The closed-form path has its own derivative for each activation, so it
# is checked for all of them. The generic paths use autograd's.
PATH_CASES = [("fast", name) for name in NONLINEAR] + [
    (mode, name)
    for mode in ("forward", "reverse")
    for name in ("relu", "tanh")
]


@pytest.mark.parametrize("mode,activation", PATH_CASES)
@pytest.mark.parametrize("size", [1, 7, None])
def test_paths_match_dense(mode, activation, size):
    model = make_model(activation)
    inputs = make_inputs()
    reference = dense_reference(model, inputs)

    result = compute_jne(
        model, inputs, mode=mode, dtype="float64", **chunk_options(mode, size)
    )

    assert result.mode == mode
    assert_matches_dense(result, reference)


@pytest.mark.parametrize("n_blocks", [0, 1, 3])
@pytest.mark.parametrize("bias", [False, True])
def test_fast_path_block_counts(n_blocks, bias):
    model = make_model("gelu", bias=bias, n_blocks=n_blocks)
    inputs = make_inputs()

    result = compute_jne(model, inputs, dtype="float64", voxel_chunk=4)

    assert result.mode == "fast"
    assert_matches_dense(result, dense_reference(model, inputs))


def test_all_voxels_in_one_chunk():
    model = make_model("tanh")
    inputs = make_inputs()

    result = compute_jne(
        model,
        inputs,
        dtype="float64",
        stimulus_chunk=N_STIMULI,
        voxel_chunk=N_VOXELS,
    )

    assert result.plan["stimulus_chunk"] == N_STIMULI
    assert result.plan["voxel_chunk"] == N_VOXELS
    assert_matches_dense(result, dense_reference(model, inputs))


class TwoLayerNet(nn.Module):
    """A model that is not a ResidualMLP, with a normalisation layer."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(N_FEATURES, 12)
        self.norm = nn.LayerNorm(12)
        self.output = nn.Linear(12, N_VOXELS)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        return self.output(self.dropout(torch.tanh(self.norm(self.hidden(x)))))


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_generic_module_matches_dense(mode):
    torch.manual_seed(3)
    model = TwoLayerNet().double().eval()
    inputs = make_inputs()
    reference = dense_reference(model, inputs)
    model.train()

    result = compute_jne(model, inputs, mode=mode, dtype="float64")

    assert_matches_dense(result, reference)
    # compute_jne evaluates in eval mode and restores the training flag.
    assert model.training


def test_auto_mode_picks_direction_from_shapes():
    torch.manual_seed(3)
    wide_output = nn.Linear(3, 20).double()
    wide_input = nn.Linear(20, 3).double()

    forward = compute_jne(wide_output, make_inputs(n_features=3))
    reverse = compute_jne(wide_input, make_inputs(n_features=20))

    assert forward.mode == "forward"
    assert reverse.mode == "reverse"


def test_float32_default_close_to_float64():
    model = make_model("relu")
    inputs = make_inputs()

    single = compute_jne(model, inputs)
    double = compute_jne(model, inputs, dtype=torch.float64)

    assert single.dtype == "float32"
    assert single.jne_ss.dtype == np.float32
    np.testing.assert_allclose(single.jne, double.jne, rtol=1e-4)


def test_voxel_subset_matches_full_run():
    model = make_model("silu")
    inputs = make_inputs()
    full = compute_jne(model, inputs, dtype="float64")
    subset = [1, 4, 5, 10]

    for mode in ("fast", "forward", "reverse"):
        result = compute_jne(
            model, inputs, mode=mode, dtype="float64", voxels=subset
        )
        np.testing.assert_allclose(result.jne, full.jne[subset], rtol=1e-10)
        np.testing.assert_allclose(
            result.jne_ss, full.jne_ss[:, subset], rtol=1e-10, atol=1e-14
        )
        np.testing.assert_array_equal(result.voxels, subset)


def test_voxel_mask_selects_columns():
    model = make_model("relu")
    mask = np.zeros(N_VOXELS, dtype=bool)
    mask[[2, 3]] = True

    result = compute_jne(model, make_inputs(), voxels=mask)

    np.testing.assert_array_equal(result.voxels, [2, 3])


def test_normalised_jne_is_ratio_to_gain():
    model = make_model("gelu")
    result = compute_jne(model, make_inputs(), dtype="float64")

    expected = result.jne / result.mean_jacobian_l1

    np.testing.assert_allclose(result.jne_normalised, expected, rtol=1e-12)


def test_invalid_arguments_raise():
    model = make_model("relu")
    inputs = make_inputs()

    with pytest.raises(ConfigError, match="jacobian.mode"):
        compute_jne(model, inputs, mode="exact")
    with pytest.raises(ConfigError, match="jacobian.dtype"):
        compute_jne(model, inputs, dtype="float16")
    with pytest.raises(ConfigError, match="max_memory_gb"):
        compute_jne(model, inputs, max_memory_gb=0)
    with pytest.raises(ConfigError, match="ResidualMLP"):
        compute_jne(TwoLayerNet(), inputs.float(), mode="fast")
    with pytest.raises(DataError, match="shape"):
        compute_jne(model, inputs[0])
    with pytest.raises(DataError, match="voxels"):
        compute_jne(model, inputs, voxels=[0, N_VOXELS])
    with pytest.raises(DataError, match="sorted"):
        compute_jne(model, inputs, voxels=[3, 1])
    bad = inputs.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        compute_jne(model, bad)


def test_wrong_feature_count_named():
    model = make_model("relu")
    inputs = make_inputs()
    wider = torch.cat([inputs, inputs[:, :1]], dim=1)
    with pytest.raises(DataError, match="built for") as error:
        compute_jne(model, wider)
    assert f"{wider.shape[1]} features" in str(error.value)
    generic = TwoLayerNet()
    with pytest.raises(DataError, match="failed on one stimulus"):
        compute_jne(generic, torch.randn(5, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["fast", "forward", "reverse"])
def test_cuda_matches_cpu(mode):
    model = make_model("relu")
    inputs = make_inputs()

    cpu = compute_jne(model, inputs, mode=mode, dtype="float64")
    cuda = compute_jne(
        model, inputs, mode=mode, dtype="float64", device="cuda"
    )

    assert cuda.device.startswith("cuda")
    np.testing.assert_allclose(cuda.jne, cpu.jne, rtol=1e-5)
    np.testing.assert_allclose(cuda.jne_ss, cpu.jne_ss, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("mode", ["fast", "forward", "reverse"])
def test_passes_log_progress(caplog, mode):
    model = make_model("relu")

    with caplog.at_level("INFO", logger="jne.jacobian"):
        compute_jne(model, make_inputs(), mode=mode, stimulus_chunk=10)

    messages = [record.getMessage() for record in caplog.records]
    assert "JNE mean pass: 3 of 3 chunks" in "\n".join(messages)
    assert "JNE deviation pass: 3 of 3 chunks" in "\n".join(messages)
    assert any(message.endswith("s left") for message in messages)
