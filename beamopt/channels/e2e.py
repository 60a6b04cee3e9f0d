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
        self.history = None  # the TrainingHistory of train_e2e_precoder
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
    validation=0.1,
    eval_every: int = 100,
    patience: int | None = None,
    lr_schedule: str = "cosine",
    progress: bool = False,
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
        Peak Adam learning rate.
    width : int
    seed : int
        Seeds the initialisation, the held-out split and the minibatches (CPU,
        bit-reproducible).
    validation : float or tuple of arrays or None
        Held-out pairs: a share in [0, 1) (default 0.1), 0 or None for none, or explicit
        `(observations, channels)`. Their negative spectral efficiency is recorded every
        `eval_every` iterations and the best weights are returned.
    eval_every : int
    patience : int or None
        Early stopping after this many evaluations without improvement (None: never).
    lr_schedule : {"cosine", "constant"}
    progress : bool

    Returns
    -------
    E2EPrecoder
        In eval mode, with the training record in `history` (loss: minus the mean spectral
        efficiency, bit/s/Hz).
    """
    from .._training import LoopSettings, run
    from ..training import resolve_validation

    y = np.asarray(observations)
    Hn = np.asarray(channels)
    if Hn.ndim != 4 or y.ndim < 2 or y.shape[0] != Hn.shape[0]:
        raise ValueError(
            "channels must have shape (n, n_subcarriers, n_rx, n_tx) with n matching "
            f"observations; got {tuple(Hn.shape)} and {tuple(y.shape)}"
        )
    n_tx = Hn.shape[-1]
    n_streams = check_int(n_streams, "n_streams")
    if n_streams > n_tx:
        raise ValueError(f"n_streams must be <= n_tx={n_tx}; got {n_streams}")
    snr = check_positive(snr, "snr")
    n_iterations = check_int(n_iterations, "n_iterations", minimum=0)
    batch_size = check_int(batch_size, "batch_size")
    check_positive(lr, "lr")
    seed = check_int(seed, "seed", minimum=0)
    settings = LoopSettings(n_iterations=n_iterations, lr=lr, lr_schedule=lr_schedule,
                            eval_every=eval_every, patience=patience)  # fmt: skip
    (y, Hn), held = resolve_validation((y, Hn), validation, seed, ("observations", "channels"))
    y_t = torch.as_tensor(y, dtype=torch.complex64)
    H = torch.as_tensor(Hn, dtype=torch.complex64)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's global RNG untouched
        torch.manual_seed(seed)
        model = E2EPrecoder(y_t.shape[1:], H.shape[1], n_tx, n_streams, width=width)
    model.obs_scale = float(y_t.abs().square().mean().sqrt())

    def loss_fn(net, g):
        idx = torch.randint(y_t.shape[0], (batch_size,), generator=g)
        return -_se(H[idx], net(y_t[idx]), snr).mean()

    validate = None
    if held is not None:
        y_val = torch.as_tensor(held[0], dtype=torch.complex64)
        H_val = torch.as_tensor(held[1], dtype=torch.complex64)

        @torch.no_grad()
        def validate(net):
            return float(-_se(H_val, net(y_val), snr).mean())

    model, history = run(
        model,
        loss_fn,
        settings=settings,
        generator=gen,
        validate=validate,
        progress=progress,
        desc="E2E precoder",
        n_train=y_t.shape[0],
        n_validation=0 if held is None else held[0].shape[0],
        loss_name="minus spectral efficiency (bit/s/Hz)",
    )
    model.history = history
    return model.eval().requires_grad_(False)
