"""Invariances of JNE that hold exactly or to rounding."""

import numpy as np
import pytest
import torch
from torch import nn

from jne.jacobian import compute_jne
from jne.models import ResidualMLP

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)


def make_model(activation, n_blocks=2, bias=False, n_voxels=13, seed=0):
    torch.manual_seed(seed)
    return ResidualMLP(8, n_voxels, 24, n_blocks, activation, bias=bias)


def make_inputs(n_stimuli=31, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n_stimuli, 8, generator=generator)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_blocks", [0, 1, 3])
@pytest.mark.parametrize("size", [1, 7, None])
def test_linear_network_gives_exact_zero(dtype, n_blocks, size):
    model = make_model("identity", n_blocks=n_blocks, bias=True)
    inputs = 10 * make_inputs()

    result = compute_jne(
        model, inputs, dtype=dtype, stimulus_chunk=size, voxel_chunk=size
    )

    assert result.mode == "fast"
    assert np.all(result.jne == 0)
    assert np.all(result.jne_ss == 0)
    assert np.all(result.deviation == 0)
    assert np.all(result.mean_jacobian_l1 > 0)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_linear_layer_generic_exact_zero(mode):
    torch.manual_seed(0)
    model = nn.Linear(8, 5)

    result = compute_jne(model, make_inputs(), mode=mode, stimulus_chunk=7)

    assert np.all(result.jne == 0)
    assert np.all(result.deviation == 0)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_deep_linear_generic_near_zero(mode):
    # Matrix-product kernels may round rows of a batch differently, so
    # the generic path is only exact to rounding for deep linear nets.
    model = make_model("identity", n_blocks=3, bias=True)

    result = compute_jne(model, make_inputs(), mode=mode, stimulus_chunk=7)

    assert np.all(result.jne <= 1e-6 * result.mean_jacobian_l1)


@pytest.mark.parametrize("factor", [-3.0, 0.5])
def test_jne_scales_with_output_gain(factor):
    model = make_model("gelu").double()
    inputs = make_inputs()
    baseline = compute_jne(model, inputs, dtype="float64")
    with torch.no_grad():
        model.output_layer.weight *= factor

    scaled = compute_jne(model, inputs, dtype="float64")

    np.testing.assert_allclose(
        scaled.jne, abs(factor) * baseline.jne, rtol=1e-10
    )
    np.testing.assert_allclose(
        scaled.jne_ss, factor**2 * baseline.jne_ss, rtol=1e-9, atol=1e-18
    )
    np.testing.assert_allclose(
        scaled.jne_normalised, baseline.jne_normalised, rtol=1e-10
    )


@pytest.mark.parametrize("mode", ["fast", "forward", "reverse"])
@pytest.mark.parametrize("factor", [0.1, 2.5, 40.0])
def test_relu_net_invariant_to_input_scale(mode, factor):
    model = make_model("relu", bias=False).double()
    inputs = make_inputs().double()
    baseline = compute_jne(model, inputs, mode=mode, dtype="float64")

    scaled = compute_jne(model, factor * inputs, mode=mode, dtype="float64")

    assert np.all(baseline.jne > 0)
    np.testing.assert_allclose(scaled.jne, baseline.jne, rtol=1e-10)
    np.testing.assert_allclose(
        scaled.jne_ss, baseline.jne_ss, rtol=1e-9, atol=1e-20
    )


def test_biased_relu_net_not_scale_invariant():
    # The invariance needs bias-free units, so the check above can fail.
    model = make_model("relu", bias=True).double()
    with torch.no_grad():
        model.input_layer.bias.fill_(1.0)
    inputs = make_inputs().double()

    baseline = compute_jne(model, inputs, dtype="float64")
    scaled = compute_jne(model, 2.5 * inputs, dtype="float64")

    assert not np.allclose(scaled.jne, baseline.jne, rtol=1e-3)


@pytest.mark.parametrize("mode", ["fast", "forward", "reverse"])
def test_result_independent_of_chunk_size(mode):
    model = make_model("tanh", bias=True)
    inputs = make_inputs()
    cases = [(5, 1), (7, 5), (31, 13), (None, None)]
    if mode == "forward":
        # In forward mode voxel_chunk sets the mean-Jacobian block, and
        # every block repeats all jvp calls: one-voxel blocks are covered
        # by the dense comparison instead.
        cases = [(5, 7), (7, 4), (31, 13), (None, None)]
    results = [
        compute_jne(
            model,
            inputs,
            mode=mode,
            stimulus_chunk=stimuli,
            voxel_chunk=voxels,
            feature_chunk=3,
        )
        for stimuli, voxels in cases
    ]

    for result in results[1:]:
        np.testing.assert_allclose(result.jne, results[0].jne, rtol=1e-5)
        np.testing.assert_allclose(
            result.jne_ss, results[0].jne_ss, rtol=1e-4, atol=1e-9
        )


@pytest.mark.parametrize("mode", ["fast", "forward", "reverse"])
def test_result_independent_of_stimulus_order(mode):
    model = make_model("silu", bias=True).double()
    inputs = make_inputs().double()
    order = np.random.default_rng(5).permutation(len(inputs))

    baseline = compute_jne(model, inputs, mode=mode, dtype="float64")
    permuted = compute_jne(model, inputs[order], mode=mode, dtype="float64")

    np.testing.assert_allclose(permuted.jne, baseline.jne, rtol=1e-10)
    np.testing.assert_allclose(
        permuted.jne_ss, baseline.jne_ss[order], rtol=1e-8, atol=1e-18
    )
    np.testing.assert_allclose(
        permuted.mean_jacobian_l1, baseline.mean_jacobian_l1, rtol=1e-12
    )


def test_model_with_float64_weights_runs_in_float32():
    model = make_model("relu").double()

    result = compute_jne(model, make_inputs())

    assert result.dtype == "float32"
    # The caller's module keeps its weights.
    assert model.output_layer.weight.dtype == torch.float64


@pytest.mark.parametrize("kind", ["residual", "generic"])
def test_approximate_mode_reports_error(kind):
    torch.manual_seed(0)
    if kind == "residual":
        model = ResidualMLP(16, 40, 32, 2, "gelu")
    else:
        model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 40))
    inputs = torch.randn(400, 16, generator=torch.Generator().manual_seed(1))
    exact = compute_jne(model, inputs)

    result = compute_jne(
        model,
        inputs,
        mode="approximate",
        n_sampled_stimuli=200,
        n_check_voxels=10,
    )

    info = result.approximation
    assert result.mode.startswith("approximate-")
    assert info["n_sampled_stimuli"] == 200
    assert info["n_checked"] == 10
    assert result.jne_ss.shape == (200, 40)
    assert len(np.unique(result.stimuli)) == 200
    checked = np.asarray(info["checked_voxels"])
    np.testing.assert_allclose(
        info["exact_jne"], exact.jne[checked], rtol=1e-4
    )
    error = np.abs(result.jne - exact.jne) / exact.jne
    assert info["max_relative_error"] == pytest.approx(
        error[checked].max(), rel=1e-3
    )
    # Sampling error of a standard deviation from 200 of 400 stimuli is
    # about 1 / sqrt(2 * 200) * sqrt(1 - 200 / 400), 3.5 %.
    assert np.median(error) < 0.1


def test_approximate_deviations_are_exact_rows():
    model = make_model("tanh", bias=True).double()
    inputs = make_inputs(n_stimuli=60).double()
    exact = compute_jne(model, inputs, dtype="float64")

    result = compute_jne(
        model, inputs, mode="approximate", dtype="float64", n_sampled_stimuli=9
    )

    rows = result.stimuli
    np.testing.assert_allclose(
        result.deviation, exact.deviation[rows], rtol=1e-10
    )
    # Unbiased variance of a sample drawn without replacement from 60.
    expected = exact.deviation[rows].var(axis=0, ddof=1) * 59 / 60
    np.testing.assert_allclose(result.jne, np.sqrt(expected), rtol=1e-10)


def test_approximate_mode_with_all_stimuli_is_exact():
    model = make_model("relu")
    inputs = make_inputs()

    exact = compute_jne(model, inputs)
    result = compute_jne(
        model, inputs, mode="approximate", n_sampled_stimuli=31
    )

    assert result.mode == "fast"
    assert result.approximation is None
    np.testing.assert_array_equal(result.jne, exact.jne)


@pytest.mark.parametrize("scratch_dir", [None, "tmp"])
@pytest.mark.parametrize("mode", ["fast", "approximate"])
def test_spilled_products_give_same_result(tmp_path, scratch_dir, mode):
    model = make_model("gelu", bias=True).double()
    inputs = make_inputs(n_stimuli=60).double()
    directory = tmp_path if scratch_dir else None
    # 75 kB caches at most 2 of the 9 chunks of 7 stimuli (10.7 kB
    # each), so the others are spilled or built again.
    budget = 75_000 / 1e9
    reference = compute_jne(
        model, inputs, mode=mode, dtype="float64", n_sampled_stimuli=20
    )

    result = compute_jne(
        model,
        inputs,
        mode=mode,
        dtype="float64",
        max_memory_gb=budget,
        stimulus_chunk=7,
        scratch_dir=directory,
        n_sampled_stimuli=20,
    )

    assert result.plan["cached_chunks"] < 9
    spilled = 9 - result.plan["cached_chunks"] if scratch_dir else 0
    assert result.plan["spilled_chunks"] == spilled
    np.testing.assert_allclose(result.jne, reference.jne, rtol=1e-12)
    np.testing.assert_allclose(
        result.deviation, reference.deviation, rtol=1e-12, atol=1e-15
    )
    # The unnamed scratch file leaves nothing behind.
    assert list(tmp_path.iterdir()) == []
