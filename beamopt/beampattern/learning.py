r"""Model-driven end-to-end learning of a steering dictionary shared by transmitter and receiver.

After Model-Driven End-to-End Learning for Integrated Sensing and Communication (Sec. IV-B):
a complex matrix $A \in \mathbb C^{K \times N_{grid}}$, initialised from the ideal array's
steering vectors on the grid, is shared by the transmitter, the LS beam computed by a
linear solve (no inverse),

$$
(A^* A^\top) M = A^*, \qquad x = \sqrt{E_{tx}}\, \frac{M b}{\|M b\|},
$$

and the receiver, a soft-argmax over the sector (eq. (13)),

$$
g = \operatorname{softmax}\big(|A^H y_r| \text{ restricted to } b\big), \qquad
\hat\theta = g^\top \theta_{grid},
$$

trained on random sectors (mean $U[-60^\circ, 60^\circ]$, span $U[10^\circ, 20^\circ]$) to
minimise $\mathbb E|\hat\theta - \theta|^2$ with Adam, with the echoes of eq. (1) generated
by the *true* array (e.g. [`impaired_positions`][beamopt.beampattern.impaired_positions]).
Entries outside the sector are masked out of the softmax (rather than entering with value
zero) so the estimate cannot leave the prior.

Two parametrisations of $A$ (`parametrisation=`):

* `"dictionary"` (the paper): every entry is free. Columns of sectors never trained keep
  their initial value but still enter every beam through the Gram matrix $A^* A^\top$, so
  they drift with the trained ones: the free dictionary does not generalise to sectors
  outside its training range.
* `"positions"`: $[A]_{k,i} = e^{j2\pi (p_k - \bar p)\sin\theta_i}$, with the $K$ element
  positions as the only parameters (the physical model of the impairment). Every column
  follows from them, so what is learned on some sectors holds on all, and the learned
  positions are usable by every model-based tool of the package:
  [`sector_beam`][beamopt.beampattern.sector_beam],
  [`SensingReceiver.from_positions`][beamopt.SensingReceiver.from_positions]
  (the continuous MAPRT receiver) and `BistaticScenario(tx_positions=...)`.

Detection (eq. (14)) and evaluation use the learned matrix through
[`SensingReceiver.from_dictionary`][beamopt.SensingReceiver.from_dictionary] and
[`ls_beam`][beamopt.beampattern.ls_beam] (or the positions, as above).

torch is imported by this module only; everything is seeded through one `torch.Generator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._repr import summary_repr
from .._validation import (
    as_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    readonly,
)
from ..result import SolverResult
from ..units import db_to_linear
from ._torch import check_seed, check_training_args, randn_complex, random_sectors
from ._torch import device as resolve_device
from .array_model import ideal_positions, steering_matrix
from .sectors import angle_grid

__all__ = ["ModelDrivenISAC", "LearnedDictionary", "train_model_driven", "PARAMETRISATIONS"]


class ModelDrivenISAC(torch.nn.Module):
    r"""Learnable steering dictionary with the LS transmitter and the soft-argmax receiver.

    Two parametrisations of $A \in \mathbb C^{K \times N_{grid}}$:

    * `dictionary` given: every entry is free (the paper; $2 K N_{grid}$ real parameters);
    * `positions` given: $[A]_{k,i} = e^{j 2\pi (p_k - \bar p) \sin\theta_i}$ with the $K$
      element positions $p_k$ (wavelengths) as the only parameters (centred, since a common
      shift only rotates each column's phase).

    Parameters
    ----------
    dictionary : array_like, shape (K, n_grid), complex, optional
        Initial value of a free $A$.
    grid : array_like, shape (n_grid,)
        Grid angles (radians) of the columns.
    positions : array_like, shape (K,), optional
        Initial element positions (instead of `dictionary`).
    energy : float
        $E_{tx}$.
    dtype : torch.dtype
        Real dtype of the parameters (`torch.float32` or `torch.float64`).
    """

    def __init__(self, dictionary=None, grid=None, *, positions=None, energy: float = 1.0,
                 dtype=torch.float32):  # fmt: skip
        super().__init__()
        if (dictionary is None) == (positions is None):
            raise ValueError("give exactly one of dictionary and positions")
        grid = as_array(grid, "grid", dtype=float, ndim=1)
        self.energy = check_positive(energy, "energy")
        self.register_buffer("grid", torch.tensor(np.array(grid), dtype=dtype))
        if dictionary is not None:
            D = as_array(dictionary, "dictionary", dtype=complex, ndim=2)
            if D.shape[1] != grid.size:
                raise ValueError(f"dictionary must have {grid.size} columns; got {D.shape[1]}")
            self.parametrisation = "dictionary"
            self.A_re = torch.nn.Parameter(torch.tensor(np.array(D.real), dtype=dtype))
            self.A_im = torch.nn.Parameter(torch.tensor(np.array(D.imag), dtype=dtype))
        else:
            p = as_array(positions, "positions", dtype=float, ndim=1)
            self.parametrisation = "positions"
            self.p = torch.nn.Parameter(torch.tensor(p - p.mean(), dtype=dtype))

    @property
    def positions(self):
        """Centred element positions (wavelengths), shape (K,); None for a free dictionary."""
        if self.parametrisation != "positions":
            return None
        return self.p - self.p.mean()

    @property
    def A(self):
        """The complex dictionary, shape (K, n_grid)."""
        if self.parametrisation == "dictionary":
            return torch.complex(self.A_re, self.A_im)
        phase = 2 * np.pi * self.positions[:, None] * torch.sin(self.grid)[None, :]
        return torch.polar(torch.ones_like(phase), phase)

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
        The learned $A$ (for `parametrisation="positions"`, the steering vectors of the
        learned positions on the grid).
    initial : ndarray, shape (K, n_grid), complex
        Its initial value.
    grid : ndarray, shape (n_grid,)
        Grid angles in radians.
    parametrisation : {"dictionary", "positions"}
    positions : ndarray, shape (K,), or None
        Learned centred element positions in wavelengths (`parametrisation="positions"`);
        usable wherever positions are: [`sector_beam`][beamopt.beampattern.sector_beam],
        [`SensingReceiver.from_positions`][beamopt.SensingReceiver.from_positions],
        `BistaticScenario(tx_positions=...)`.
    initial_positions : ndarray, shape (K,), or None
        Their initial value.
    history : TrainingHistory
        Training and held-out loss (mean squared angle error, rad²).
    objective : float
        Held-out loss of the returned model (without held-out draws: the mean training
        loss over the last tenth of the evaluations).
    """

    dictionary: np.ndarray
    initial: np.ndarray
    grid: np.ndarray
    parametrisation: str = "dictionary"
    positions: np.ndarray | None = None
    initial_positions: np.ndarray | None = None

    __repr__ = summary_repr


PARAMETRISATIONS = ("dictionary", "positions")
#: Default peak learning rates: entries of A are O(1); positions move by O(0.1) wavelengths.
DEFAULT_LR = {"dictionary": 1e-2, "positions": 2e-3}
#: Largest condition number of the initial Gram matrix $A^* A^\top$ accepted.
MAX_GRAM_CONDITION = 1e8


def _initial_parameters(parametrisation, init, K, grid, init_noise, gen):
    """Initial dictionary or positions (numpy), from `init` or the ideal ULA."""
    if isinstance(init, LearnedDictionary):
        if init.grid.size != grid.size or not np.allclose(init.grid, grid):
            raise ValueError(
                f"init was trained on a grid of {init.grid.size} angles; n_grid={grid.size} "
                "must match it"
            )
        if parametrisation == "positions" and init.positions is None:
            raise ValueError(
                "init holds a free dictionary; it cannot seed parametrisation='positions'"
            )
        init = init.positions if parametrisation == "positions" else init.dictionary
    if parametrisation == "positions":
        p = ideal_positions(K) if init is None else as_array(init, "init", dtype=float, ndim=1)
        if p.size != K:
            raise ValueError(f"init must hold {K} positions (one per element); got {p.size}")
        if init_noise > 0:
            p = p + init_noise * torch.randn(K, generator=gen, dtype=torch.float64).numpy()
        return p - p.mean()
    D = steering_matrix(grid, ideal_positions(K)) if init is None else as_array(
        init, "init", dtype=complex, ndim=2)  # fmt: skip
    if D.shape != (K, grid.size):
        raise ValueError(f"init must have shape ({K}, {grid.size}) = (K, n_grid); got {D.shape}")
    if init_noise > 0:
        D = D + init_noise * torch.randn(D.shape, generator=gen, dtype=torch.float64).numpy()
    return D


def train_model_driven(
    true_positions,
    *,
    parametrisation: str = "dictionary",
    init=None,
    n_grid: int = 156,
    n_iterations: int = 500,
    batch_size: int = 1000,
    learning_rate: float | None = None,
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
    r"""Learn the dictionary $A$ (or the element positions behind it) end to end.

    Parameters
    ----------
    true_positions : array_like, shape (K,)
        Element positions (wavelengths) of the array that generates the echoes.
    parametrisation : {"dictionary", "positions"}
        `"dictionary"`: every entry of $A$ is free (the paper). `"positions"`: $A$ is the
        steering matrix of $K$ learnable element positions, shared by transmitter and
        receiver; it cannot drift on columns it never trained, so it generalises to sectors
        outside the training range, and the positions plug into every model-based tool.
    init : array_like or LearnedDictionary, optional
        Starting point: a dictionary (K, n_grid) or positions (K,) matching
        `parametrisation`, or an earlier result to continue from; the ideal
        half-wavelength ULA when omitted.
    n_grid : int
        Grid size over $[-90^\circ, 90^\circ]$ (the paper uses 500 and 156); at least $K$,
        with a well-conditioned Gram matrix $A^* A^\top$.
    n_iterations : int
        Adam steps (the paper uses 50 000 at learning rate $10^{-3}$).
    batch_size : int
        Sectors (one target each) per step.
    learning_rate : float, optional
        Peak Adam rate (cosine decay to 5 % of it by the last step, see `lr_schedule`);
        default `DEFAULT_LR[parametrisation]` ($10^{-2}$ for the dictionary,
        $2 \cdot 10^{-3}$ wavelengths for positions).
    snr_radar_db : float
        $\sigma_r^2 / N_0$ in dB.
    energy : float
        $E_{tx}$.
    init_noise : float
        Standard deviation of real Gaussian noise added to the initial dictionary entries
        (the paper perturbs them) or positions (wavelengths); 0 starts exactly at `init`.
    mean_deg, span_deg : tuple of float
        Ranges of the random training sectors' mean and span, degrees.
    validation : int
        Held-out draws (sector, target, gain, noise; fixed, from a generator of their own)
        on which the loss is recorded every `eval_every` steps; the model with the
        lowest held-out loss is returned. 0: none (the last model is returned).
    eval_every : int
        Steps between held-out evaluations.
    patience : int or None
        Stop after this many evaluations without a held-out improvement (None: never).
    lr_schedule : {"cosine", "constant"}
        Cosine decay of the learning rate, or the paper's constant rate.
    rng : int, numpy.random.Generator or torch.Generator
        Seed of the `torch.Generator` that draws every random quantity (a generator gives
        one draw for it).
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
        error, rad²); `positions` holds the learned positions for `"positions"`.

    Raises
    ------
    ValueError
        For a bad argument, naming it: among others `n_grid < K` or an ill-conditioned Gram
        matrix, an `init` of the wrong shape or parametrisation.
    """
    from .._training import LoopSettings, run

    pos = as_array(true_positions, "true_positions", dtype=float, ndim=1)
    check_choice(parametrisation, "parametrisation", PARAMETRISATIONS)
    K = pos.size
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    if n_grid < K:
        raise ValueError(
            f"n_grid must be >= K = {K} (the Gram matrix A* A^T of a {n_grid}-column "
            "dictionary is singular)"
        )
    n_iterations = check_int(n_iterations, "n_iterations")
    batch_size = check_int(batch_size, "batch_size")
    if learning_rate is None:
        learning_rate = DEFAULT_LR[parametrisation]
    learning_rate = check_positive(learning_rate, "learning_rate")
    init_noise = check_nonnegative(init_noise, "init_noise")
    validation = check_int(validation, "validation", minimum=0)
    sigma_r = db_to_linear(float(as_array(snr_radar_db, "snr_radar_db", dtype=float, ndim=0)))
    check_training_args(mean_deg, span_deg, 0)
    seed = check_seed(rng)
    settings = LoopSettings(
        n_iterations=n_iterations, lr=learning_rate, lr_schedule=lr_schedule,
        eval_every=eval_every, patience=patience,
    )  # fmt: skip
    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(seed)

    grid = angle_grid(n_grid)
    start = _initial_parameters(parametrisation, init, K, grid, init_noise, gen)
    if parametrisation == "positions":
        model = ModelDrivenISAC(grid=grid, positions=start, energy=energy, dtype=dtype)
    else:
        model = ModelDrivenISAC(start, grid, energy=energy, dtype=dtype)
    init_A = model.A.detach().cpu().numpy().astype(complex)
    cond = np.linalg.cond(init_A.conj() @ init_A.T)
    if not cond < MAX_GRAM_CONDITION:
        raise ValueError(
            f"the initial Gram matrix A* A^T has condition number {cond:.3g} (> "
            f"{MAX_GRAM_CONDITION:g}): increase n_grid (now {n_grid}) or check init"
        )
    model = model.to(dev)
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
        desc=f"model-driven ISAC ({parametrisation})",
        n_validation=validation,
        loss_name="mean squared angle error (rad²)",
    )
    late = history.train_loss[np.isfinite(history.train_loss)]
    tail = late[-max(1, late.size // 10) :] if late.size else np.array([np.nan])
    learned_p = model.positions
    return LearnedDictionary(
        objective=float(history.best_validation_loss if validation else tail.mean()),
        status="converged" if history.stopped_early else "max_iterations",
        method=f"model_driven_e2e_{parametrisation}",
        iterations=history.n_iterations,
        solve_time=history.elapsed_s,
        message=f"Adam, lr={learning_rate} ({lr_schedule}), batch={batch_size}, device={dev}",
        history=history,
        dictionary=readonly(model.A.detach().cpu().numpy().astype(complex)),
        initial=readonly(init_A),
        grid=readonly(grid),
        parametrisation=parametrisation,
        positions=None if learned_p is None else readonly(
            learned_p.detach().cpu().numpy().astype(float)),
        initial_positions=None if learned_p is None else readonly(start),
    )  # fmt: skip


#: Offset of the held-out draws' seed from the training seed (their own generator).
HELD_OUT_SEED_OFFSET = 1_000_003
