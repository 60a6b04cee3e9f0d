"""Networks and ScoreModel: shapes, preconditioning, null token, autograd, lazy torch import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from beamopt.score import MLPDenoiserNet, ScoreConfig, ScoreModel, TransformerDenoiserNet
from beamopt.score.networks import build_network, resolve_kind

SHAPES = [(3,), (4, 4), (2, 3, 4)]
TINY = ScoreConfig(width=16, n_blocks=1, d_model=16, n_heads=2, dim_feedforward=32, device="cpu")


def _model(shape, obs_shape, kind):
    net = build_network(ScoreConfig(**{**TINY.__dict__, "network": kind}), shape, obs_shape)
    return ScoreModel(
        net, channel_shape=shape, obs_shape=obs_shape, scale=2.0, obs_scale=0.5, config=TINY
    )


def _randomise_head(model):
    # the output layer starts at zero; perturb every weight so the network is non-trivial
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))


def _cx(shape, seed=0, dtype=torch.complex128):
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(shape, generator=g), torch.randn(shape, generator=g)).to(dtype)


@pytest.mark.parametrize("kind", ["mlp", "transformer"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("obs_shape", [None, (5,), (2, 3)])
def test_predict_noise_shape_dtype_device(kind, shape, obs_shape):
    model = _model(shape, obs_shape, kind)
    _randomise_head(model)
    x = _cx((6, *shape))
    y = None if obs_shape is None else _cx((6, *obs_shape), seed=1)
    eps = model.predict_noise(x, torch.linspace(0.1, 3.0, 6), y)
    assert eps.shape == x.shape and eps.dtype == x.dtype and eps.device == x.device
    assert torch.isfinite(torch.view_as_real(eps)).all()
    assert not eps.requires_grad


@pytest.mark.parametrize("kind", ["mlp", "transformer"])
def test_fresh_network_is_the_exact_denoiser_of_a_white_prior(kind):
    # zero output head: eps_hat = sigma x / (1 + sigma^2), the exact answer for z ~ CN(0, I)
    # (E[z | x] = x / (1 + sigma^2), so eps = (x - E[z | x]) / sigma).
    model = _model((2, 3), None, kind)
    x = _cx((4, 2, 3))
    sigma = torch.tensor([0.01, 0.3, 1.0, 20.0], dtype=torch.float64)
    s = sigma.reshape(-1, 1, 1)
    torch.testing.assert_close(
        model.predict_noise(x, sigma), x * s / (1 + s**2), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("kind", ["mlp", "transformer"])
def test_null_token_is_the_unconditional_branch(kind):
    model = _model((2, 3), (4,), kind)
    _randomise_head(model)
    net = model.network
    x_feat = torch.randn(5, net.n_tokens, 12 // net.n_tokens)
    c = torch.zeros(5)
    y_feat = torch.randn(5, 8)
    keep = torch.tensor([True, False, True, False, False])
    mixed = net(x_feat, c, y_feat, keep)
    cond = net(x_feat, c, y_feat, None)
    null = net(x_feat, c, None, None)
    torch.testing.assert_close(mixed[keep], cond[keep])
    torch.testing.assert_close(mixed[~keep], null[~keep])
    assert not torch.allclose(cond, null)


def test_observation_broadcast_and_scalar_sigma():
    model = _model((4, 4), (3,), "transformer")
    _randomise_head(model)
    x = _cx((3, 4, 4))
    y = _cx((3,), seed=2)
    full = model.predict_noise(x, torch.full((3,), 0.7), y[None].expand(3, 3))
    torch.testing.assert_close(model.predict_noise(x, 0.7, y), full)
    torch.testing.assert_close(model.predict_noise(x, torch.tensor([0.7]), y[None]), full)


@pytest.mark.parametrize("kind", ["mlp", "transformer"])
def test_gradient_through_predict_noise_matches_finite_differences(kind):
    model = _model((2, 2), (2,), kind).double()
    _randomise_head(model)
    x = _cx((2, 2, 2)).requires_grad_(True)
    y = _cx((2, 2), seed=3)

    def f(x):
        return model.predict_noise(x, torch.tensor([0.5, 1.5]), y).abs().square().sum()

    (grad,) = torch.autograd.grad(f(x), x)
    direction = _cx((2, 2, 2), seed=4)
    h = 1e-3
    with torch.no_grad():
        fd = (f(x + h * direction) - f(x - h * direction)) / (2 * h)
    # torch's gradient of a real loss w.r.t. complex x is conj-Wirtinger * 2: Re<grad, d>
    assert (grad.conj() * direction).real.sum().item() == pytest.approx(fd.item(), rel=2e-2)


def test_estimator_network_depends_on_y_only():
    net = MLPDenoiserNet((2, 2), (3,), width=16, n_blocks=1, denoising=False)
    tnet = TransformerDenoiserNet(
        (2, 2), (3,), d_model=16, n_heads=2, dim_feedforward=32, denoising=False
    )
    for n in (net, tnet):
        out = n(None, None, torch.randn(7, 6), None)
        assert out.shape == (7, n.n_tokens, 8 // n.n_tokens)
    with pytest.raises(ValueError, match="obs_shape"):
        MLPDenoiserNet((2, 2), None, denoising=False)


def test_kind_and_patch_validation():
    assert resolve_kind("auto", (4, 4)) == "mlp"
    assert resolve_kind("auto", (8, 16)) == "transformer"
    with pytest.raises(ValueError, match="network"):
        resolve_kind("cnn", (4,))
    with pytest.raises(ValueError, match="patch_size"):
        build_network(ScoreConfig(network="transformer", patch_size=5), (4, 4))


def test_bad_model_inputs_raise():
    model = _model((2, 2), None, "mlp")
    with pytest.raises(ValueError, match="x must have shape"):
        model.predict_noise(_cx((3, 2, 3)), 1.0)
    with pytest.raises(ValueError, match="complex"):
        model.predict_noise(torch.randn(3, 2, 2), 1.0)
    with pytest.raises(ValueError, match="sigma"):
        model.predict_noise(_cx((3, 2, 2)), torch.ones(2))
    with pytest.raises(ValueError, match="unconditional"):
        model.predict_noise(_cx((3, 2, 2)), 1.0, _cx((3, 2)))


def test_import_beamopt_score_does_not_import_torch():
    code = (
        "import sys, beamopt, beamopt.score\n"
        "assert 'torch' not in sys.modules\n"
        "beamopt.score.ve_sigmas\n"
        "assert 'torch' not in sys.modules\n"
        "beamopt.score.ScoreModel\n"
        "assert 'torch' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
