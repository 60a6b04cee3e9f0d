r"""The end-to-end baseline: observations straight to a precoder, trained on spectral efficiency.

A small MLP maps the observation history $y$ to a complex matrix $M_n(y) \in
\mathbb{C}^{n_{tx} \times n_s}$ per subcarrier; its QR factor $F_n = \mathrm{qf}(M_n)$ is an
orthonormal precoder (differentiable), and the weights maximise the empirical spectral
efficiency of the true target channels

$$
\max_\theta \frac{1}{N N_{sc}} \sum_{i, n} \log_2\det\left(I + \frac{\rho}{n_s}
    F_n(y_i)^H H_{i,n}^H H_{i,n} F_n(y_i)\right),
$$

the task-aware reference of *A Perception vs. Distortion Perspective on Score-Based Generative
Channel Estimation* (Appendix A: with unlimited capacity it attains the posterior expected
utility at every $y$).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .._validation import check_int, check_positive

__all__ = ["E2EPrecoder", "train_e2e_precoder"]


class E2EPrecoder(nn.Module):
    """Observation history -> per-subcarrier orthonormal precoder (MLP + QR).

    Parameters
    ----------
    obs_shape : tuple of int
        Shape of one observation history.
    n_subcarriers, n_tx, n_streams : int
    width : int
        Hidden width of the two hidden layers.
    """

    def __init__(self, obs_shape, n_subcarriers: int, n_tx: int, n_streams: int, width: int = 256):
        super().__init__()
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.out_shape = (int(n_subcarriers), int(n_tx), int(n_streams))
        n_in = 2 * int(np.prod(self.obs_shape))
        n_out = 2 * int(np.prod(self.out_shape))
        self.obs_scale = 1.0
        self.net = nn.Sequential(
            nn.Linear(n_in, width),
            nn.GELU(),
            nn.Linear(width, width),
            nn.GELU(),
            nn.Linear(width, n_out),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Complex (B, *obs_shape) -> complex (B, n_subcarriers, n_tx, n_streams), F^H F = I."""
        y = y.reshape(y.shape[0], -1) / self.obs_scale
        out = self.net(torch.cat([y.real, y.imag], dim=-1).float())
        out = out.reshape(y.shape[0], *self.out_shape, 2)
        M = torch.complex(out[..., 0], out[..., 1])
        Q, _ = torch.linalg.qr(M)
        return Q

    def precoders(self, observations) -> np.ndarray:
        """Precoders of observations, complex128 `(n, n_subcarriers, n_tx, n_streams)`."""
        y = torch.as_tensor(np.asarray(observations), dtype=torch.complex64)
        with torch.no_grad():
            return self(y).numpy().astype(np.complex128)


def _se(H: torch.Tensor, F: torch.Tensor, snr: float) -> torch.Tensor:
    X = H @ F
    n_s = F.shape[-1]
    eye = torch.eye(n_s, dtype=X.dtype)
    M = eye + (snr / n_s) * (X.mH @ X)
    return torch.linalg.slogdet(M)[1] / np.log(2.0)


def train_e2e_precoder(
    observations,
    channels,
    *,
    n_streams: int,
    snr: float,
    n_iterations: int = 1000,
    batch_size: int = 128,
    lr: float = 1e-3,
    width: int = 256,
    seed: int = 0,
) -> E2EPrecoder:
    r"""Train [`E2EPrecoder`][beamopt.channels.e2e.E2EPrecoder] on (observation, channel) pairs.

    Parameters
    ----------
    observations : array_like, complex, shape (n, *obs_shape)
    channels : array_like, complex, shape (n, n_subcarriers, n_rx, n_tx)
        True target channels.
    n_streams : int
        Streams, `1 <= n_streams <= n_tx`.
    snr : float
        Linear DL SNR $\rho$ of the training objective, > 0.
    n_iterations, batch_size : int
    lr : float
        Adam learning rate.
    width : int
    seed : int
        Seeds the initialisation and the minibatches (CPU, bit-reproducible).

    Returns
    -------
    E2EPrecoder
        In eval mode.
    """
    y = torch.as_tensor(np.asarray(observations), dtype=torch.complex64)
    H = torch.as_tensor(np.asarray(channels), dtype=torch.complex64)
    if H.ndim != 4 or y.shape[0] != H.shape[0]:
        raise ValueError(
            "channels must have shape (n, n_subcarriers, n_rx, n_tx) with n matching "
            f"observations; got {tuple(H.shape)} and {tuple(y.shape)}"
        )
    n_tx = H.shape[-1]
    n_streams = check_int(n_streams, "n_streams")
    if n_streams > n_tx:
        raise ValueError(f"n_streams must be <= n_tx={n_tx}; got {n_streams}")
    snr = check_positive(snr, "snr")
    n_iterations = check_int(n_iterations, "n_iterations", minimum=0)
    batch_size = check_int(batch_size, "batch_size")
    check_positive(lr, "lr")
    seed = check_int(seed, "seed", minimum=0)
    gen = torch.Generator().manual_seed(seed)
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    model = E2EPrecoder(y.shape[1:], H.shape[1], n_tx, n_streams, width=width)
    torch.set_rng_state(state)
    model.obs_scale = float(y.abs().square().mean().sqrt())
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(n_iterations):
        idx = torch.randint(y.shape[0], (batch_size,), generator=gen)
        F = model(y[idx])
        loss = -_se(H[idx], F, snr).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval().requires_grad_(False)
