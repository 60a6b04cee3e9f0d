"""The end-to-end precoders: heads, objectives, a backbone, against the Ky Fan optimum."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from beamopt.channels import E2EPrecoder, train_e2e_precoder  # noqa: E402
from beamopt.channels.e2e import dominant_eigenvectors  # noqa: E402


def _crandn(rng, *shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def test_dominant_eigenvectors_match_numpy_and_the_qr_head_for_low_rank_latents():
    rng = np.random.default_rng(0)
    L = _crandn(rng, 5, 3, 2, 4)  # (B, n_sc, n_latent = 2, n_tx = 4)
    F = dominant_eigenvectors(torch.as_tensor(L), 2).numpy()
    G = np.swapaxes(L.conj(), -1, -2) @ L
    _, V = np.linalg.eigh(G)
    ref = V[..., ::-1][..., :2]
    # same subspace (projectors agree); orthonormal columns
    P = F @ np.swapaxes(F.conj(), -1, -2)
    P_ref = ref @ np.swapaxes(ref.conj(), -1, -2)
    np.testing.assert_allclose(P, P_ref, atol=1e-5)
    np.testing.assert_allclose(
        np.swapaxes(F.conj(), -1, -2) @ F, np.broadcast_to(np.eye(2), (5, 3, 2, 2)), atol=1e-5
    )
    # n_latent <= n_streams: the dominant subspace is the row space of L = span of qf(L^H)
    Q = np.linalg.qr(np.swapaxes(L.conj(), -1, -2))[0]
    np.testing.assert_allclose(P, Q @ np.swapaxes(Q.conj(), -1, -2), atol=1e-5)


def test_the_eigenvector_gradient_is_finite_for_a_rank_deficient_gramian():
    L = torch.randn(4, 2, 6, dtype=torch.complex64, requires_grad=True)  # rank 2 of 6
    H = torch.randn(4, 3, 6, dtype=torch.complex64)
    F = dominant_eigenvectors(L, 2)
    (H @ F).abs().square().sum().backward()
    assert torch.isfinite(L.grad.real).all() and torch.isfinite(L.grad.imag).all()


def _toy(n, rng, n_tx=4):
    """H = g * H0 with a random gain g and a known H0: the optimum ignores y."""
    H0 = _crandn(rng, 2, 2, n_tx)  # (n_sc = 2, n_rx = 2, n_tx)
    g = rng.standard_normal(n)
    H = g[:, None, None, None] * H0
    y = (g[:, None] + 0.1 * rng.standard_normal((n, 3))).astype(complex)
    return y, H, H0


@pytest.mark.parametrize(("head", "objective"), [("gramian", "energy"), ("qr", "energy")])
def test_energy_training_reaches_the_ky_fan_optimum(head, objective):
    rng = np.random.default_rng(1)
    y, H, H0 = _toy(512, rng)
    model = train_e2e_precoder(
        y, H, n_streams=1, objective=objective, head=head, n_iterations=300, lr=3e-3,
        eval_every=50, seed=0,
    )  # fmt: skip
    F = model.precoders(y[:64])
    assert F.shape == (64, 2, 4, 1)
    # E||H F||^2 = E[g^2] tr(F^H G0 F) <= E[g^2] lambda_max(G0) per subcarrier (Ky Fan)
    G0 = np.swapaxes(H0.conj(), -1, -2) @ H0
    best = np.linalg.eigvalsh(G0)[:, -1]
    got = np.real(np.einsum("bnti,ntu,bnui->bn", F.conj(), G0, F)).mean(axis=0)
    np.testing.assert_array_less(got, best * (1 + 1e-6))
    assert np.all(got > 0.97 * best)
    hist = model.history
    assert hist.validation_loss[-1] < hist.validation_loss[0]
    assert "energy" in hist.loss_name


def test_a_backbone_is_fine_tuned_end_to_end():
    rng = np.random.default_rng(2)
    y, H, _ = _toy(256, rng)

    class Latent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(6, 2 * 2 * 4 * 2)

        def forward(self, yc):
            out = self.lin(torch.cat([yc.real, yc.imag], dim=-1).float())
            out = out.reshape(yc.shape[0], 2, 2, 4, 2)
            return torch.complex(out[..., 0], out[..., 1])

    backbone = Latent()
    before = backbone.lin.weight.detach().clone()
    model = train_e2e_precoder(y, H, n_streams=2, objective="energy", head="gramian",
                               backbone=backbone, n_iterations=20, eval_every=10)  # fmt: skip
    assert model.backbone is backbone and model.net is None
    assert not torch.equal(before, backbone.lin.weight)
    F = model.precoders(y[:3])
    np.testing.assert_allclose(
        np.swapaxes(F.conj(), -1, -2) @ F, np.broadcast_to(np.eye(2), (3, 2, 2, 2)), atol=1e-5
    )


def test_bad_arguments_raise_naming_them():
    rng = np.random.default_rng(3)
    y, H, _ = _toy(16, rng)
    with pytest.raises(ValueError, match="snr"):
        train_e2e_precoder(y, H, n_streams=1, objective="se", n_iterations=1)
    with pytest.raises(ValueError, match="objective"):
        train_e2e_precoder(y, H, n_streams=1, objective="rate", n_iterations=1)
    with pytest.raises(ValueError, match="head"):
        train_e2e_precoder(y, H, n_streams=1, snr=1.0, head="svd", n_iterations=1)
    with pytest.raises(ValueError, match="backbone"):
        E2EPrecoder((3,), 2, 4, 1, head="qr", backbone=torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match="n_streams"):
        train_e2e_precoder(y, H, n_streams=5, snr=1.0, n_iterations=1)
