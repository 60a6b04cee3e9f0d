"""The PosteriorSampler protocol and the as_sampler adapter."""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt.posterior.sampler import as_samples


def _observation(channel_shape=(2, 3)):
    mask = np.ones(channel_shape[0], dtype=bool)
    return beamopt.LinearObservation.from_mask(mask, channel_shape, 0.5)


def _prior_draws(observation, n_samples, *, seed=None):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_samples, 2, 3)) + 1j * rng.standard_normal((n_samples, 2, 3))


class _ObjectSampler:
    def sample(self, observation, n_samples, *, seed=None):
        return _prior_draws(observation, n_samples, seed=seed)


def test_exact_samplers_satisfy_the_protocol():
    obs = _observation()
    gp = beamopt.GaussianPosterior(np.eye(6), obs)
    gm = beamopt.GaussianMixturePosterior([1.0], np.zeros((1, 2, 3)), np.eye(6)[None], obs)
    assert isinstance(gp, beamopt.PosteriorSampler)
    assert isinstance(gm, beamopt.PosteriorSampler)
    assert isinstance(_ObjectSampler(), beamopt.PosteriorSampler)
    assert not isinstance(_prior_draws, beamopt.PosteriorSampler)


@pytest.mark.parametrize("raw", [_ObjectSampler(), _prior_draws])
def test_as_sampler_accepts_objects_and_callables(raw):
    sampler = beamopt.as_sampler(raw, channel_shape=(2, 3))
    assert isinstance(sampler, beamopt.PosteriorSampler)
    out = sampler.sample(None, 5, seed=7)
    assert out.shape == (5, 2, 3) and out.dtype == np.complex128
    # The seed is forwarded untouched: same seed, same draws as calling directly.
    np.testing.assert_array_equal(out, _prior_draws(None, 5, seed=7))


def test_as_sampler_is_idempotent():
    once = beamopt.as_sampler(_prior_draws)
    twice = beamopt.as_sampler(once, channel_shape=(2, 3))
    assert twice.sampler is once.sampler
    assert twice.sample(None, 2, seed=0).shape == (2, 2, 3)
    # The checked channel shape survives re-wrapping.
    assert beamopt.as_sampler(twice).channel_shape == (2, 3)


def test_real_output_is_promoted_to_complex():
    sampler = beamopt.as_sampler(lambda y, n, *, seed=None: np.ones((n, 4)))
    out = sampler.sample(None, 3)
    assert out.dtype == np.complex128
    np.testing.assert_array_equal(out, np.ones((3, 4)))


@pytest.mark.torch
def test_torch_tensors_are_converted():
    torch = pytest.importorskip("torch")

    def torch_sampler(observation, n_samples, *, seed=None):
        gen = torch.Generator().manual_seed(seed)
        out = torch.randn(n_samples, 2, 3, dtype=torch.complex64, generator=gen)
        return out.requires_grad_()

    out = beamopt.as_sampler(torch_sampler, channel_shape=(2, 3)).sample(None, 4, seed=1)
    assert isinstance(out, np.ndarray) and out.dtype == np.complex128
    expected = torch.randn(
        4, 2, 3, dtype=torch.complex64, generator=torch.Generator().manual_seed(1)
    )
    np.testing.assert_allclose(out, expected.numpy())
    # Precoders take torch tensors directly as well.
    res = beamopt.expected_gramian_precoder(torch.as_tensor(out), 1)
    assert res.F.shape == (3, 1)


def test_bad_sampler_outputs_raise():
    with pytest.raises(ValueError, match="n_samples=3"):
        beamopt.as_sampler(lambda y, n, *, seed=None: np.zeros((n + 1, 2, 3))).sample(None, 3)
    with pytest.raises(ValueError, match="shape"):
        beamopt.as_sampler(_prior_draws, channel_shape=(3, 2)).sample(None, 3)
    nan_sampler = beamopt.as_sampler(lambda y, n, *, seed=None: np.full((n, 2), np.nan))
    with pytest.raises(ValueError, match="finite"):
        nan_sampler.sample(None, 2)
    with pytest.raises(ValueError, match="numeric"):
        beamopt.as_sampler(lambda y, n, *, seed=None: np.array(["a"] * n)).sample(None, 2)
    with pytest.raises(ValueError, match="n_samples"):
        beamopt.as_sampler(_prior_draws).sample(None, 0)


def test_bad_sampler_objects_raise():
    with pytest.raises(ValueError, match="sample"):
        beamopt.as_sampler(42)
    with pytest.raises(ValueError, match="channel_shape"):
        beamopt.as_sampler(_prior_draws, channel_shape=(2, 0))


def test_as_samples_checks_scalar():
    with pytest.raises(ValueError, match="scalar"):
        as_samples(1.0)


def test_a_one_at_a_time_sampler_is_split_over_a_batch():
    calls = []

    def single(y, n_samples, *, seed=None):
        y = np.asarray(y)
        assert y.shape == (5,)  # never sees a batch
        calls.append(seed)
        rng = np.random.default_rng(seed)
        return y.sum() + rng.standard_normal((n_samples, 2, 3))

    Y = np.arange(15.0).reshape(3, 5)
    sampler = beamopt.as_sampler(single, channel_shape=(2, 3), obs_shape=(5,), batched=False)
    S = sampler.sample(Y, 4, seed=0)
    assert S.shape == (3, 4, 2, 3) and len(calls) == 3 and len(set(calls)) == 3
    for b in range(3):  # row b comes from Y[b]
        assert abs(S[b].mean() - Y[b].sum()) < 2.0
    np.testing.assert_array_equal(S, sampler.sample(Y, 4, seed=0))
    assert sampler.sample(Y[0], 4, seed=0).shape == (4, 2, 3)
    # as a batched sampler, the same function's output is refused with the fix in the message
    with pytest.raises(ValueError, match="batched=False"):
        beamopt.as_sampler(
            lambda y, n, *, seed=None: np.zeros((n, 2, 3)), channel_shape=(2, 3), obs_shape=(5,)
        ).sample(Y, 4)


def test_batches_are_recognised_from_the_sampler_pilot_model():
    obs = _observation()
    post = beamopt.GaussianPosterior(np.eye(6), obs)
    sampler = beamopt.as_sampler(post, channel_shape=(2, 3))
    Y = obs.observe(post.sample_prior(2, seed=0), seed=1)
    assert sampler.sample(Y, 3, seed=0).shape == (2, 3, 2, 3)
    assert sampler.sample(Y[0], 3, seed=0).shape == (3, 2, 3)
    with pytest.raises(ValueError, match="y must have shape"):
        sampler.sample(Y[None], 3)
    with pytest.raises(ValueError, match="batched"):
        beamopt.as_sampler(post, batched="no")


def test_pilot_batch_names_both_shapes():
    from beamopt.posterior.sampler import pilot_batch

    Y, batched = pilot_batch(np.zeros(3), (3,))
    assert Y.shape == (1, 3) and not batched
    Y, batched = pilot_batch(np.zeros((4, 3)), (3,))
    assert Y.shape == (4, 3) and batched
    with pytest.raises(ValueError, match=r"\(3,\) or \(B, 3\)"):
        pilot_batch(np.zeros((4, 2)), (3,))
