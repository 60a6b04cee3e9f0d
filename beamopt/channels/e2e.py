r"""End-to-end baselines: observations straight to a precoder, trained on the task.

A network maps the observation history $y$ to an orthonormal precoder $F_n(y) \in
\mathbb{C}^{n_{tx} \times n_s}$ ($F_n^H F_n = I$) per subcarrier, in one of two ways:

- `head="qr"`: an MLP outputs a matrix $M_n(y)$ and $F_n = \mathrm{qf}(M_n)$ (its QR factor);
- `head="gramian"` (the baseline of *A Perception vs. Distortion Perspective on Score-Based
  Generative Channel Estimation*, Section VII-B): the network outputs a *latent channel
  estimate* $L_n(y) \in \mathbb{C}^{n_\ell \times n_{tx}}$ and $F_n$ spans the $n_s$ dominant
  eigenvectors of its Gramian $L_n^H L_n$ (a differentiable eigendecomposition). The network
  is an MLP, or any torch module given as `backbone` (e.g. a trained
  [`ChannelEstimator`][beamopt.score.estimator.ChannelEstimator], fine-tuned end to end).

The weights maximise, over the true target channels, either the spectral efficiency or the
received energy (the functional the expected-Gramian precoder maximises),

$$
\text{"se"}:\ \frac{1}{N N_{sc}} \sum_{i, n} \log_2\det\Big(I + \frac{\rho}{n_s}
    F_n(y_i)^H H_{i,n}^H H_{i,n} F_n(y_i)\Big), \qquad
\text{"energy"}:\ \frac{1}{N N_{sc}} \sum_{i, n} \big\|H_{i,n} F_n(y_i)\big\|_F^2 .
$$

With unlimited capacity the energy-trained model attains, at every $y$, the dominant
eigenvectors of the posterior expected Gramian $E[H_n^H H_n \mid y]$ (Appendix A and C of the
paper), the precoder a posterior sampler approximates by Monte Carlo. When $n_\ell \le n_s$
the dominant eigenvectors of $L_n^H L_n$ span the row space of $L_n$, so the Gramian head
then equals the QR head applied to $M_n = L_n^H$.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int, check_positive

__all__ = ["E2EPrecoder", "train_e2e_precoder"]


HEADS = ("qr", "gramian")
OBJECTIVES = ("se", "energy")


class E2EPrecoder(nn.Module):
    """Observation history -> per-subcarrier orthonormal precoder (see the module text).

    Parameters
    ----------
    obs_shape : tuple of int
        Shape of one observation history.
    n_subcarriers, n_tx, n_streams : int
    width : int
        Hidden width of the MLP's two hidden layers (unused with a `backbone`).
    head : {"qr", "gramian"}
        QR factor of an output matrix, or the dominant eigenvectors of the Gramian of a
        latent channel estimate.
    n_latent : int, optional
        Rows $n_\\ell$ of the latent estimate (head "gramian"; default `n_streams`).
    backbone : torch.nn.Module, optional
        Head "gramian" only: a module mapping complex observations `(B, *obs_shape)` to the
        complex latent estimate `(B, n_subcarriers, n_latent, n_tx)` (any `n_latent`), used
        instead of the MLP; its weights are trained (fine-tuned) with the precoder's.
    """

    def __init__(
        self,
        obs_shape,
        n_subcarriers: int,
        n_tx: int,
        n_streams: int,
        width: int = 256,
        *,
        head: str = "qr",
        n_latent: int | None = None,
        backbone: nn.Module | None = None,
    ):
        super().__init__()
        check_choice(head, "head", HEADS)
        if backbone is not None and head != "gramian":
            raise ValueError(f"backbone needs head='gramian'; got head={head!r}")
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.head = head
        self.n_streams = int(n_streams)
        rows = int(n_streams) if n_latent is None else check_int(n_latent, "n_latent")
        self.n_latent = rows
        if head == "qr":
            self.out_shape = (int(n_subcarriers), int(n_tx), int(n_streams))
        else:
            self.out_shape = (int(n_subcarriers), rows, int(n_tx))
        self.obs_scale = 1.0
        self.history = None  # the TrainingHistory of train_e2e_precoder
        self.backbone = backbone
        self.net = None
        if backbone is None:
            n_in = 2 * int(np.prod(self.obs_shape))
            n_out = 2 * int(np.prod(self.out_shape))
            self.net = nn.Sequential(
                nn.Linear(n_in, width),
                nn.GELU(),
                nn.Linear(width, width),
                nn.GELU(),
                nn.Linear(width, n_out),
            )
        else:
            backbone.requires_grad_(True)

    def latent(self, y: torch.Tensor) -> torch.Tensor:
        """The network output: complex `M` (head "qr") or the latent estimate `L`."""
        if self.backbone is not None:
            return self.backbone(y)
        y = y.reshape(y.shape[0], -1) / self.obs_scale
        out = self.net(torch.cat([y.real, y.imag], dim=-1).float())
        out = out.reshape(y.shape[0], *self.out_shape, 2)
        return torch.complex(out[..., 0], out[..., 1])

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Complex (B, *obs_shape) -> complex (B, n_subcarriers, n_tx, n_streams), F^H F = I."""
        M = self.latent(y)
        if self.head == "qr":
            Q, _ = torch.linalg.qr(M)
            return Q
        return dominant_eigenvectors(M, self.n_streams)

    def precoders(self, observations, *, batch_size: int = 1024) -> np.ndarray:
        """Precoders of observations, complex128 `(n, n_subcarriers, n_tx, n_streams)`."""
        y = torch.as_tensor(np.asarray(observations), dtype=torch.complex64)
        with torch.no_grad():
            out = [self(y[i : i + batch_size]) for i in range(0, y.shape[0], batch_size)]
        return torch.cat(out).numpy().astype(np.complex128)


def dominant_eigenvectors(L: torch.Tensor, n_streams: int) -> torch.Tensor:
    r"""The `n_streams` dominant eigenvectors of $L^H L$, differentiably (complex128 eigh).

    A relative ridge $10^{-9}\,\mathrm{tr}(G)/n \cdot \mathrm{diag}(1, 2, \dots, n)$ splits the
    exactly repeated zero eigenvalues of a low-rank Gramian (whose eigenvector gradients would
    otherwise divide zero by zero); it moves the dominant subspace by $O(10^{-9})$.

    Parameters
    ----------
    L : torch.Tensor, complex, shape (..., n_latent, n_tx)
    n_streams : int

    Returns
    -------
    torch.Tensor, complex64, shape (..., n_tx, n_streams)
    """
    L = L.to(torch.complex128)
    G = L.mH @ L
    n = G.shape[-1]
    scale = torch.diagonal(G, dim1=-2, dim2=-1).real.sum(-1) / n
    ramp = torch.arange(1, n + 1, dtype=torch.float64, device=G.device)
    G = G + (1e-9 * scale[..., None, None] + 1e-30) * torch.diag(ramp).to(G.dtype)
    _, V = torch.linalg.eigh(G)  # ascending
    return V[..., -n_streams:].flip(-1).to(torch.complex64)


def _se(H: torch.Tensor, F: torch.Tensor, snr: float) -> torch.Tensor:
    X = H @ F
    n_s = F.shape[-1]
    eye = torch.eye(n_s, dtype=X.dtype)
    M = eye + (snr / n_s) * (X.mH @ X)
    return torch.linalg.slogdet(M)[1] / np.log(2.0)


def _energy(H: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    return (H @ F).abs().square().sum(dim=(-2, -1))


def train_e2e_precoder(
    observations,
    channels,
    *,
    n_streams: int,
    snr: float | None = None,
    objective: str = "se",
    head: str = "qr",
    n_latent: int | None = None,
    backbone: nn.Module | None = None,
    n_iterations: int = 1000,
    batch_size: int = 128,
    lr: float = 1e-3,
    width: int = 256,
    seed: int = 0,
    validation=0.1,
    eval_every: int = 100,
    patience: int | None = None,
    lr_schedule: str = "cosine",
    warmup: int = 0,
    grad_clip: float | None = None,
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
    snr : float, optional
        Linear DL SNR $\rho$ of the spectral-efficiency objective, > 0 (required for
        `objective="se"`, unused by "energy").
    objective : {"se", "energy"}
        Maximise the spectral efficiency or the received energy $\|H F\|_F^2$.
    head : {"qr", "gramian"}
        See the module text.
    n_latent : int, optional
        Rows of the latent estimate of head "gramian" (default `n_rx`: a latent channel).
    backbone : torch.nn.Module, optional
        Head "gramian": the network producing the latent estimate from complex
        observations, trained in place (pass a copy to keep the original).
    n_iterations, batch_size : int
    lr : float
        Peak Adam learning rate.
    width : int
        MLP width (without a backbone).
    seed : int
        Seeds the initialisation, the held-out split and the minibatches (CPU,
        bit-reproducible).
    validation : float or tuple of arrays or None
        Held-out pairs: a share in [0, 1) (default 0.1), 0 or None for none, or explicit
        `(observations, channels)`. Their loss (minus the mean objective) is recorded every
        `eval_every` iterations and the best weights are returned.
    eval_every : int
    patience : int or None
        Early stopping after this many evaluations without improvement (None: never).
    lr_schedule : {"cosine", "constant"}
    warmup : int
        Linear learning-rate warm-up iterations.
    grad_clip : float, optional
        Max global gradient norm.
    progress : bool

    Returns
    -------
    E2EPrecoder
        In eval mode, with the training record in `history` (loss: minus the mean spectral
        efficiency in bit/s/Hz, or minus the mean received energy per subcarrier).
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
    check_choice(objective, "objective", OBJECTIVES)
    check_choice(head, "head", HEADS)
    if objective == "se":
        if snr is None:
            raise ValueError("snr (the linear DL SNR of the objective) is required for "
                             "objective='se'")  # fmt: skip
        snr = check_positive(snr, "snr")
    if backbone is not None and not isinstance(backbone, nn.Module):
        raise ValueError(f"backbone must be a torch.nn.Module; got {type(backbone).__name__}")
    n_iterations = check_int(n_iterations, "n_iterations", minimum=0)
    batch_size = check_int(batch_size, "batch_size")
    check_positive(lr, "lr")
    seed = check_int(seed, "seed", minimum=0)
    settings = LoopSettings(n_iterations=n_iterations, lr=lr, lr_schedule=lr_schedule,
                            eval_every=eval_every, patience=patience, warmup=warmup,
                            grad_clip=grad_clip)  # fmt: skip
    (y, Hn), held = resolve_validation((y, Hn), validation, seed, ("observations", "channels"))
    y_t = torch.as_tensor(y, dtype=torch.complex64)
    H = torch.as_tensor(Hn, dtype=torch.complex64)
    gen = torch.Generator().manual_seed(seed)
    rows = Hn.shape[2] if n_latent is None else n_latent
    with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's global RNG untouched
        torch.manual_seed(seed)
        model = E2EPrecoder(y_t.shape[1:], H.shape[1], n_tx, n_streams, width=width, head=head,
                            n_latent=rows, backbone=backbone)  # fmt: skip
    model.obs_scale = float(y_t.abs().square().mean().sqrt())
    if objective == "se":

        def gain(Hb, F):
            return _se(Hb, F, snr)

        loss_name = "minus spectral efficiency (bit/s/Hz)"
    else:

        def gain(Hb, F):
            return _energy(Hb, F.to(Hb.dtype))

        loss_name = "minus received energy per subcarrier"

    def loss_fn(net, g):
        idx = torch.randint(y_t.shape[0], (batch_size,), generator=g)
        return -gain(H[idx], net(y_t[idx])).mean()

    validate = None
    if held is not None:
        y_val = torch.as_tensor(held[0], dtype=torch.complex64)
        H_val = torch.as_tensor(held[1], dtype=torch.complex64)

        @torch.no_grad()
        def validate(net):
            total = 0.0
            for i in range(0, y_val.shape[0], 1024):
                total += float(gain(H_val[i : i + 1024], net(y_val[i : i + 1024])).sum())
            return -total / (y_val.shape[0] * H_val.shape[1])

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
        loss_name=loss_name,
    )
    model.history = history
    return model.eval().requires_grad_(False)
