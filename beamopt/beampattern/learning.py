r"""Model-driven end-to-end learning of a steering dictionary shared by transmitter and receiver.

After Model-Driven End-to-End Learning for Integrated Sensing and Communication (Sec. IV-B):
a complex matrix $A \in \mathbb C^{K \times N_{grid}}$, initialised from the ideal array's
steering vectors on the grid, is the only trainable parameter. The transmitter is the LS
beam computed by a linear solve (no inverse),

$$
(A^* A^\top) M = A^*, \qquad x = \sqrt{E_{tx}}\, \frac{M b}{\|M b\|},
$$

and the receiver is a soft-argmax over the sector (eq. (13)),

$$
g = \operatorname{softmax}\big(|A^H y_r| \text{ restricted to } b\big), \qquad
\hat\theta = g^\top \theta_{grid},
$$

trained on random sectors (mean $U[-60^\circ, 60^\circ]$, span $U[10^\circ, 20^\circ]$) to
minimise $\mathbb E|\hat\theta - \theta|^2$ with Adam, with the echoes of eq. (1) generated
by the *true* array (e.g. [`impaired_positions`][beamopt.beampattern.impaired_positions]).
Entries outside the sector are masked out of the softmax (rather than entering with value
zero) so the estimate cannot leave the prior. Detection (eq. (14)) and evaluation use the
learned matrix through
[`SensingReceiver.from_dictionary`][beamopt.beampattern.SensingReceiver.from_dictionary] and
[`ls_beam`][beamopt.beampattern.ls_beam].

torch is imported by this module only; everything is seeded through one `torch.Generator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._repr import summary_repr
from .._validation import as_array, check_int, check_nonnegative, check_positive, readonly
from ..result import SolverResult
from ..units import db_to_linear
from ._torch import check_training_args, randn_complex, random_sectors
from ._torch import device as resolve_device
from .array_model import ideal_positions, steering_matrix
from .sectors import angle_grid

__all__ = ["ModelDrivenISAC", "LearnedDictionary", "train_model_driven"]


class ModelDrivenISAC(torch.nn.Module):
    """Learnable dictionary with the LS transmitter and the soft-argmax receiver.

    Parameters
    ----------
    dictionary : array_like, shape (K, n_grid), complex
        Initial value of $A$.
    grid : array_like, shape (n_grid,)
        Grid angles (radians) of the columns.
    energy : float
        $E_{tx}$.
    dtype : torch.dtype
        Real dtype of the parameters (`torch.float32` or `torch.float64`).
    """

    def __init__(self, dictionary, grid, *, energy: float = 1.0, dtype=torch.float32):
        super().__init__()
        D = as_array(dictionary, "dictionary", dtype=complex, ndim=2)
        grid = as_array(grid, "grid", dtype=float, ndim=1)
        if D.shape[1] != grid.size:
            raise ValueError(f"dictionary must have {grid.size} columns; got {D.shape[1]}")
        self.energy = check_positive(energy, "energy")
        self.A_re = torch.nn.Parameter(torch.tensor(np.array(D.real), dtype=dtype))
        self.A_im = torch.nn.Parameter(torch.tensor(np.array(D.imag), dtype=dtype))
        self.register_buffer("grid", torch.tensor(np.array(grid), dtype=dtype))

    @property
    def A(self):
        """The complex dictionary, shape (K, n_grid)."""
        return torch.complex(self.A_re, self.A_im)

    def transmit(self, b):
        r"""LS beams for patterns `b` (B, n_grid): returns (B, K) with $\|x\|^2 = E_{tx}$."""
        A = self.A
        M = torch.linalg.solve(A.conj() @ A.T, A.conj())  # (K, n_grid), no explicit inverse
        x = b.to(A.dtype) @ M.T
        return np.sqrt(self.energy) * x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)

    def estimate(self, y, b):
        """Soft-argmax angle (eq. (13)) for `y` (B, K) and sector masks `b` (B, n_grid)."""
        z = torch.abs(y @ self.A.conj())
        z = torch.where(b > 0, z, torch.full_like(z, -torch.inf))
        return torch.softmax(z, dim=-1) @ self.grid


@dataclass(frozen=True, kw_only=True)
class LearnedDictionary(SolverResult):
    """Outcome of [`train_model_driven`][beamopt.beampattern.learning.train_model_driven].

    Attributes
    ----------
    dictionary : ndarray, shape (K, n_grid), complex
        The learned $A$.
    initial : ndarray, shape (K, n_grid), complex
        Its initial value.
    grid : ndarray, shape (n_grid,)
        Grid angles in radians.
    history : TrainingHistory
        Training and held-out loss (mean squared angle error, rad²).
    objective : float
        Held-out loss of the returned dictionary (without held-out draws: the mean training
        loss over the last tenth of the evaluations).
    """

    dictionary: np.ndarray
    initial: np.ndarray
    grid: np.ndarray

    __repr__ = summary_repr


def train_model_driven(
    true_positions,
    *,
    n_grid: int = 156,
    n_iterations: int = 500,
    batch_size: int = 1000,
    learning_rate: float = 1e-2,
    snr_radar_db: float = 0.0,
    energy: float = 1.0,
    init_noise: float = 0.0,
    mean_deg=(-60.0, 60.0),
    span_deg=(10.0, 20.0),
    validation: int = 2000,
    eval_every: int = 50,
    patience: int | None = None,
    lr_schedule: str = "cosine",
    rng=0,
    device="auto",
    dtype=torch.float32,
    progress: bool = False,
) -> LearnedDictionary:
    r"""Learn the dictionary $A$ end to end for single-target angle estimation.

    Parameters
    ----------
    true_positions : array_like, shape (K,)
        Element positions (wavelengths) of the array that generates the echoes.
    n_grid : int
        Grid size over $[-90^\circ, 90^\circ]$ (the paper uses 500 and 156).
    n_iterations : int
        Adam steps (the paper uses 50 000 at learning rate $10^{-3}$).
    batch_size : int
        Sectors (one target each) per step.
    learning_rate : float
        Peak Adam rate (cosine decay to 5 % of it by the last step, see `lr_schedule`).
    snr_radar_db : float
        $\sigma_r^2 / N_0$ in dB.
    energy : float
        $E_{tx}$.
    init_noise : float
        Standard deviation of real Gaussian noise added to the ideal initialisation (the
        paper perturbs it); 0 starts exactly at the ideal array.
    mean_deg, span_deg : tuple of float
        Ranges of the random training sectors' mean and span, degrees.
    validation : int
        Held-out draws (sector, target, gain, noise; fixed, from a generator of their own)
        on which the loss is recorded every `eval_every` steps; the dictionary with the
        lowest held-out loss is returned. 0: none (the last dictionary is returned).
    eval_every : int
        Steps between held-out evaluations.
    patience : int or None
        Stop after this many evaluations without a held-out improvement (None: never).
    lr_schedule : {"cosine", "constant"}
        Cosine decay of the learning rate, or the paper's constant rate.
    rng : int
        Seed of the `torch.Generator` that draws every random quantity.
    device : str
        `"auto"` (CUDA when present), `"cpu"`, `"cuda"`, ...
    dtype : torch.dtype
        `torch.float32` or `torch.float64`.
    progress : bool
        Show a progress bar.

    Returns
    -------
    LearnedDictionary
        `history` is the [`TrainingHistory`][beamopt.TrainingHistory] (mean squared angle
        error, rad²).
    """
    from .._training import LoopSettings, run

    pos = as_array(true_positions, "true_positions", dtype=float, ndim=1)
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    n_iterations = check_int(n_iterations, "n_iterations")
    batch_size = check_int(batch_size, "batch_size")
    learning_rate = check_positive(learning_rate, "learning_rate")
    init_noise = check_nonnegative(init_noise, "init_noise")
    validation = check_int(validation, "validation", minimum=0)
    sigma_r = db_to_linear(float(as_array(snr_radar_db, "snr_radar_db", dtype=float, ndim=0)))
    seed = check_training_args(mean_deg, span_deg, rng)
    settings = LoopSettings(
        n_iterations=n_iterations, lr=learning_rate, lr_schedule=lr_schedule,
        eval_every=eval_every, patience=patience,
    )  # fmt: skip
    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(seed)

    K = pos.size
    grid = angle_grid(n_grid)
    init = steering_matrix(grid, ideal_positions(K))
    if init_noise > 0:
        init = (
            init + init_noise * torch.randn(init.shape, generator=gen, dtype=torch.float64).numpy()
        )
    model = ModelDrivenISAC(init, grid, energy=energy, dtype=dtype).to(dev)
    cdtype = torch.complex64 if dtype == torch.float32 else torch.complex128
    pos_t = torch.as_tensor(pos, dtype=dtype, device=dev)
    grid_t = model.grid

    def draw(g, n):
        """Sector masks, target angles, gains and noise of `n` echoes."""
        sec = random_sectors(g, n, mean_deg, span_deg).to(dev, dtype)
        b = ((grid_t >= sec[:, :1]) & (grid_t <= sec[:, 1:])).to(dtype)
        empty = b.sum(-1) == 0  # a sector narrower than the grid step: take its nearest point
        if empty.any():
            near = torch.argmin(torch.abs(grid_t - sec[empty].mean(-1, keepdim=True)), -1)
            b[empty, near] = 1
        u = torch.rand(n, generator=g, dtype=torch.float64).to(dev, dtype)
        theta = sec[:, 0] + u * (sec[:, 1] - sec[:, 0])
        alpha = randn_complex(g, (n,), sigma_r).to(dev, cdtype)
        noise = randn_complex(g, (n, K), 1.0).to(dev, cdtype)
        return b, theta, alpha, noise

    def loss_of(net, batch):
        b, theta, alpha, noise = batch
        a = torch.exp(2j * np.pi * pos_t * torch.sin(theta)[:, None].to(cdtype))  # (B, K)
        x = net.transmit(b)
        y = (alpha * (a * x).sum(-1))[:, None] * a + noise
        return torch.mean((net.estimate(y, b) - theta) ** 2)

    validate = None
    if validation:
        held = draw(torch.Generator().manual_seed(seed + HELD_OUT_SEED_OFFSET), validation)

        @torch.no_grad()
        def validate(net):
            return float(loss_of(net, held))

    model, history = run(
        model,
        lambda net, g: loss_of(net, draw(g, batch_size)),
        settings=settings,
        generator=gen,
        validate=validate,
        progress=progress,
        desc="model-driven ISAC",
        n_validation=validation,
        loss_name="mean squared angle error (rad²)",
    )
    late = history.train_loss[np.isfinite(history.train_loss)]
    tail = late[-max(1, late.size // 10) :] if late.size else np.array([np.nan])
    return LearnedDictionary(
        objective=float(history.best_validation_loss if validation else tail.mean()),
        status="converged" if history.stopped_early else "max_iterations",
        method="model_driven_e2e",
        iterations=history.n_iterations,
        solve_time=history.elapsed_s,
        message=f"Adam, lr={learning_rate} ({lr_schedule}), batch={batch_size}, device={dev}",
        history=history,
        dictionary=readonly(model.A.detach().cpu().numpy().astype(complex)),
        initial=readonly(init),
        grid=readonly(grid),
    )


#: Offset of the held-out draws' seed from the training seed (their own generator).
HELD_OUT_SEED_OFFSET = 1_000_003
