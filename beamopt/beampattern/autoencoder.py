r"""Neural-network autoencoder baseline for end-to-end ISAC (five MLPs, two-step training).

After Model-Driven End-to-End Learning for Integrated Sensing and Communication (Sec. IV-A,
Table I). Complex quantities enter and leave the networks as concatenated real and imaginary
parts; $K$ antennas, $|\mathcal M|$ messages and $N$ hidden units:

| network | input | hidden | output |
|---|---|---|---|
| encoder $f_\epsilon$ | $|\mathcal M|$: one-hot $m$ | $(K, K, 2K)$ | 2 (linear): $s(m)$ |
| beamformer $f_\mu$ | 4: prior $\Theta$ | $(N, N, N)$ | $2K$ (linear): $v$ |
| detector $f_\rho$ | $2K + 2$: $y_r, \theta_{\min}, \theta_{\max}$ | $(N, N, N)$ | 1 (sigmoid) |
| angle est. $f_\nu$ | $2K + 2$: as $f_\rho$ | $(N, N, N)$ | 1 (tanh): $2\hat\theta/\pi$ |
| comm receiver $f_\eta$ | 4: $y_c, \kappa$ | $(K, 2K, 2K)$ | $|\mathcal M|$ (softmax) |

with $\Theta = (\theta_{\min}, \theta_{\max}, \vartheta_{\min}, \vartheta_{\max})$ in radians.
The constellation is normalised to unit mean energy and the beam to $\|v\|^2 = E_{tx}$, so
$x = v\, s(m)$ meets the budget. The paper's two complexity levels are
`complexity="full"` ($N = 1024$, compared with a model-driven grid of 500) and
`complexity="limited"` ($N = 21$, grid of 156); an integer sets $N$ directly.

Training is the paper's two-step procedure for a trade-off weight $\omega_r \in [0, 1]$:

$$
\mathcal J^{TD}_{ISAC} = \omega_r \mathcal J_{TD} + (1 - \omega_r) \mathcal J_{comm}
\quad \text{over } \epsilon, \mu, \rho, \eta, \qquad
\mathcal J^{angle}_{ISAC} = \omega_r \mathcal J_{angle} + (1 - \omega_r) \mathcal J_{comm}
\quad \text{over } \nu, \epsilon, \mu, \eta,
$$

with $\mathcal J_{TD}$ the binary cross-entropy of target presence ($t \sim$ Bern(1/2)),
$\mathcal J_{angle} = \mathbb E[|\hat\theta - \theta|^2 \mid t = 1]$ and $\mathcal J_{comm}$
the categorical cross-entropy of the message. The paper writes the detection term as
$\omega_r \mathbb I\{t = 1\} \mathcal J_{TD}$; taken literally, a detector trained on
present targets only learns to always answer "present", so the cross-entropy here runs over
the whole batch (half without target). Sensing sectors are random (mean $U[-60^\circ,
60^\circ]$, span $U[10^\circ, 20^\circ]$), the user sector is fixed, and the echoes come from
the *true* array. Each $\omega_r$ is a separate training run
([`train_neural_isac`][beamopt.beampattern.autoencoder.train_neural_isac]); the trade-off curve over
$\omega_r$ is measured by
[`neural_isac_tradeoff`][beamopt.beampattern.autoencoder.neural_isac_tradeoff]
with the definitions of
[`isac_tradeoff`][beamopt.beampattern.isac_tradeoff] (threshold on $\hat p$ for $P_{fa}$ by
Monte Carlo under $\mathcal H_0$, SER, RMSE over detected targets).

torch is imported by this module only; every random draw comes from one seeded
`torch.Generator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._repr import summary_repr
from .._validation import as_array, check_int, check_positive, check_unit_interval, readonly
from ..result import SolverResult
from ..units import db_to_linear
from ._torch import check_seed, check_training_args, randn_complex, random_sectors, uniform
from ._torch import device as resolve_device
from .metrics import IsacTradeoff, proportion_se, rmse_and_se
from .receivers import check_exceedances
from .sectors import check_sector

__all__ = ["NeuralISAC", "NeuralISACResult", "train_neural_isac", "neural_isac_tradeoff",
           "COMPLEXITY"]  # fmt: skip

#: Hidden units $N$ of the paper's two complexity levels.
COMPLEXITY = {"full": 1024, "limited": 21}


def _hidden(complexity) -> int:
    if isinstance(complexity, str):
        if complexity not in COMPLEXITY:
            raise ValueError(
                f"complexity must be one of {sorted(COMPLEXITY)} or a positive int; "
                f"got {complexity!r}"
            )
        return COMPLEXITY[complexity]
    return check_int(complexity, "complexity")


def _mlp(sizes, out_act=None):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    if out_act is not None:
        layers.append(out_act)
    return torch.nn.Sequential(*layers)


def _c2r(z):
    return torch.cat([z.real, z.imag], dim=-1)


class NeuralISAC(torch.nn.Module):
    r"""The five networks of the autoencoder baseline (Table I).

    Parameters
    ----------
    n_tx : int
        Antennas $K$.
    n_messages : int
        Messages $|\mathcal M|$.
    hidden : int
        Hidden units $N$ of the beamformer, detector and angle estimator.
    energy : float
        $E_{tx}$.
    """

    def __init__(self, n_tx: int, n_messages: int = 4, hidden: int = 21, *, energy: float = 1.0):
        super().__init__()
        K = self.n_tx = check_int(n_tx, "n_tx")
        M = self.n_messages = check_int(n_messages, "n_messages", minimum=2)
        N = self.hidden = check_int(hidden, "hidden")
        self.energy = check_positive(energy, "energy")
        self.encoder = _mlp([M, K, K, 2 * K, 2])
        self.beamformer = _mlp([4, N, N, N, 2 * K])
        self.detector = _mlp([2 * K + 2, N, N, N, 1])  # logit; sigmoid in the loss
        self.angle = _mlp([2 * K + 2, N, N, N, 1], torch.nn.Tanh())
        self.comm_receiver = _mlp([4, K, 2 * K, 2 * K, M])  # logits; softmax in the loss

    def constellation(self):
        """Symbols $s(m)$ of all messages, unit mean energy, shape (n_messages,) complex."""
        out = self.encoder(torch.eye(self.n_messages, device=self.encoder[0].weight.device))
        s = torch.complex(out[:, 0], out[:, 1])
        return s / torch.sqrt(torch.mean(torch.abs(s) ** 2))

    def beam(self, prior):
        r"""Beams $v$ for priors (B, 4) in radians: (B, K) complex with $\|v\|^2 = E_{tx}$."""
        out = self.beamformer(prior)
        v = torch.complex(out[:, : self.n_tx], out[:, self.n_tx :])
        return np.sqrt(self.energy) * v / torch.linalg.vector_norm(v, dim=-1, keepdim=True)

    def sense(self, y, sector):
        """Detection logit and angle estimate (radians) for echoes (B, K) and sectors (B, 2)."""
        z = torch.cat([_c2r(y), sector], dim=-1)
        return self.detector(z)[:, 0], (np.pi / 2) * self.angle(z)[:, 0]

    def decode(self, y_c, csi):
        """Message logits (B, n_messages) for received samples and CSI (B,) complex."""
        return self.comm_receiver(torch.stack([y_c.real, y_c.imag, csi.real, csi.imag], -1))


@dataclass(frozen=True, kw_only=True)
class NeuralISACResult(SolverResult):
    r"""Outcome of [`train_neural_isac`][beamopt.beampattern.autoencoder.train_neural_isac].

    Attributes
    ----------
    model : NeuralISAC
        Trained networks (eval mode, on the CPU).
    omega : float
        Trade-off weight $\omega_r$ it was trained for.
    comm_sector : tuple of float
        User sector (radians) it was trained for.
    history : TrainingHistory
        Step 1: training and held-out loss $\mathcal J^{TD}_{ISAC}$.
    history_angle : TrainingHistory
        Step 2: training and held-out loss $\mathcal J^{angle}_{ISAC}$.
    n_parameters : int
        Trainable parameters of the sensing networks (beamformer, detector, angle estimator).
    objective : float
        Held-out step-2 loss of the kept weights (without held-out draws: the mean training
        loss over the last tenth of the evaluations).
    """

    model: object
    omega: float
    comm_sector: tuple
    history_angle: object
    n_parameters: int

    __repr__ = summary_repr


def _cn(gen, shape, power):
    return randn_complex(gen, shape, power).to(torch.complex64)


def _steer(pos, theta):
    return torch.exp(2j * np.pi * pos[None, :] * torch.sin(theta)[:, None]).to(torch.complex64)


def _batch(gen, n, pos, target_sectors, comm, M, sig_r, sig_c, present=None):
    """Draw one batch (CPU, float32); `target_sectors` (n, 2) radians."""
    theta = uniform(gen, 0, 1, n) * (target_sectors[:, 1] - target_sectors[:, 0])
    theta = theta + target_sectors[:, 0]
    t = (torch.rand(n, generator=gen, dtype=torch.float64) < 0.5) if present is None else present
    return dict(
        sector=target_sectors.float(),
        prior=torch.cat([target_sectors, comm.expand(n, 2)], -1).float(),
        theta=theta.float(),
        t=torch.as_tensor(t, dtype=torch.float32).expand(n).clone(),
        a_t=_steer(pos, theta),
        alpha=_cn(gen, n, sig_r),
        n_r=_cn(gen, (n, pos.numel()), 1.0),
        m=torch.randint(M, (n,), generator=gen),
        a_c=_steer(pos, uniform(gen, comm[0].item(), comm[1].item(), n)),
        beta=_cn(gen, n, sig_c),
        n_c=_cn(gen, n, 1.0),
    )


def _forward(model, d):
    """Echo and user signal of a batch through the transmitter; sensing and comm outputs."""
    v = model.beam(d["prior"])
    s = model.constellation()[d["m"]]
    x = v * s[:, None]
    gain = d["t"] * d["alpha"] * (d["a_t"] * x).sum(-1)
    y_r = gain[:, None] * d["a_t"] + d["n_r"]
    csi = d["beta"] * (d["a_c"] * v).sum(-1)
    logit, theta_hat = model.sense(y_r, d["sector"])
    return logit, theta_hat, model.decode(csi * s + d["n_c"], csi)


def train_neural_isac(
    true_positions,
    omega: float = 1.0,
    *,
    complexity="limited",
    comm_sector_deg=(30.0, 50.0),
    n_messages: int = 4,
    n_iterations: int = 500,
    n_iterations_angle: int | None = None,
    batch_size: int = 1000,
    learning_rate: float = 1e-3,
    snr_radar_db: float = 0.0,
    snr_comm_db: float = 20.0,
    energy: float = 1.0,
    mean_deg=(-60.0, 60.0),
    span_deg=(10.0, 20.0),
    validation: int = 2000,
    eval_every: int = 50,
    patience: int | None = None,
    lr_schedule: str = "cosine",
    rng=0,
    device="auto",
    progress: bool = False,
) -> NeuralISACResult:
    r"""Train the autoencoder baseline for one trade-off weight $\omega_r$ (two steps).

    Parameters
    ----------
    true_positions : array_like, shape (K,)
        Element positions (wavelengths) of the array that radiates and receives.
    omega : float
        $\omega_r \in [0, 1]$: 1 trains for sensing only, 0 for communication only.
    complexity : {"full", "limited"} or int
        Hidden units $N$: 1024, 21, or the given number.
    comm_sector_deg : array_like, shape (2,)
        User sector, degrees (fixed during training, as in the paper).
    n_messages : int
        $|\mathcal M|$.
    n_iterations : int
        Adam steps of step 1 (detection, eq. (11)); the paper uses 50 000.
    n_iterations_angle : int, optional
        Adam steps of step 2 (angle, eq. (12)); defaults to `n_iterations`.
    batch_size : int
    learning_rate : float
        Adam's rate (the paper: $10^{-3}$).
    snr_radar_db, snr_comm_db : float
        $\sigma_r^2/N_0$ and $\sigma_c^2/N_0$ in dB.
    energy : float
        $E_{tx}$.
    mean_deg, span_deg : tuple of float
        Ranges of the random sensing sectors' mean and span, degrees.
    validation : int
        Held-out draws per step (fixed, from generators of their own) on which that step's
        loss is recorded every `eval_every` iterations; the weights with the lowest
        held-out loss are kept at the end of each step. 0: none.
    eval_every : int
    patience : int or None
        Early stopping of each step after this many evaluations without improvement.
    lr_schedule : {"cosine", "constant"}
        Cosine decay of each step's learning rate, or the paper's constant rate.
    rng : int
        Seed of the `torch.Generator` (data) and of the weight initialisation.
    device : str
        `"auto"` (CUDA when present), `"cpu"`, `"cuda"`, ...
    progress : bool

    Returns
    -------
    NeuralISACResult
    """
    from .._training import LoopSettings, run

    pos = as_array(true_positions, "true_positions", dtype=float, ndim=1)
    omega = float(check_unit_interval(omega, "omega"))
    hidden = _hidden(complexity)
    comm = torch.tensor(np.deg2rad(check_sector(comm_sector_deg, "comm_sector_deg")))
    n_messages = check_int(n_messages, "n_messages", minimum=2)
    n_iterations = check_int(n_iterations, "n_iterations")
    n_angle = n_iterations if n_iterations_angle is None else n_iterations_angle
    n_angle = check_int(n_angle, "n_iterations_angle", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    learning_rate = check_positive(learning_rate, "learning_rate")
    validation = check_int(validation, "validation", minimum=0)
    sig_r = db_to_linear(float(as_array(snr_radar_db, "snr_radar_db", dtype=float, ndim=0)))
    sig_c = db_to_linear(float(as_array(snr_comm_db, "snr_comm_db", dtype=float, ndim=0)))
    seed = check_training_args(mean_deg, span_deg, rng)
    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's global RNG untouched
        torch.manual_seed(seed)
        model = NeuralISAC(pos.size, n_messages, hidden, energy=energy).to(dev)
    pos_t = torch.as_tensor(pos)
    bce = torch.nn.BCEWithLogitsLoss()
    cce = torch.nn.CrossEntropyLoss()

    def draw(g, n, present):
        sec = random_sectors(g, n, mean_deg, span_deg)
        d = _batch(g, n, pos_t, sec, comm, n_messages, sig_r, sig_c, present)
        return {k: v.to(dev) for k, v in d.items()}

    def detection_loss(net, d):
        logit, _, msg = _forward(net, d)
        return omega * bce(logit, d["t"]) + (1 - omega) * cce(msg, d["m"])

    def angle_loss(net, d):
        _, theta_hat, msg = _forward(net, d)
        return omega * torch.mean((theta_hat - d["theta"]) ** 2) + (1 - omega) * cce(msg, d["m"])

    def step(params, n_steps, loss, present, label, offset):
        validate = None
        if validation:
            held = draw(torch.Generator().manual_seed(seed + offset), validation, present)

            @torch.no_grad()
            def validate(net):
                return float(loss(net, held))

        settings = LoopSettings(
            n_iterations=n_steps, lr=learning_rate, lr_schedule=lr_schedule,
            eval_every=eval_every, patience=patience,
        )  # fmt: skip
        return run(model, lambda net, g: loss(net, draw(g, batch_size, present)),
                   settings=settings, generator=gen, validate=validate, parameters=params,
                   progress=progress, desc=label, n_validation=validation,
                   loss_name=label.removeprefix("NN ISAC ") + " loss")[1]  # fmt: skip

    m = model
    step1 = [*m.encoder.parameters(), *m.beamformer.parameters(), *m.detector.parameters(),
             *m.comm_receiver.parameters()]  # fmt: skip
    h1 = step(step1, n_iterations, detection_loss, None, "NN ISAC detection", 1_000_003)
    step2 = [*m.angle.parameters(), *m.encoder.parameters(), *m.beamformer.parameters(),
             *m.comm_receiver.parameters()]  # fmt: skip
    h2 = step(step2, n_angle, angle_loss, True, "NN ISAC angle", 2_000_003)
    model = model.cpu().eval()
    n_sensing = sum(p.numel() for net in (m.beamformer, m.detector, m.angle)
                    for p in net.parameters())  # fmt: skip
    last = h2 if n_angle else h1
    tail = last.train_loss[np.isfinite(last.train_loss)]
    objective = last.best_validation_loss if validation else float(
        tail[-max(1, tail.size // 10) :].mean() if tail.size else np.nan)  # fmt: skip
    return NeuralISACResult(
        objective=float(objective),
        status="max_iterations",
        method="neural_isac_autoencoder",
        iterations=h1.n_iterations + h2.n_iterations,
        solve_time=h1.elapsed_s + h2.elapsed_s,
        message=f"Adam, lr={learning_rate} ({lr_schedule}), batch={batch_size}, N={hidden}, "
        f"device={dev}",
        history=h1,
        history_angle=h2,
        model=model,
        omega=omega,
        comm_sector=tuple(float(c) for c in comm),
        n_parameters=int(n_sensing),
    )


@torch.no_grad()
def neural_isac_tradeoff(
    results,
    true_positions,
    target_sector_deg,
    *,
    snr_radar_db: float = 0.0,
    snr_comm_db: float = 20.0,
    p_fa: float = 1e-2,
    n_samples: int = 10_000,
    n_threshold: int = 20_000,
    rng=0,
    label: str = "",
) -> IsacTradeoff:
    r"""Missed detection, SER and angle RMSE of trained autoencoders, one per $\omega_r$.

    The definitions are those of [`isac_tradeoff`][beamopt.beampattern.isac_tradeoff]: a
    target is declared when the detector's logit exceeds its $(1 - P_{fa})$ quantile on
    `n_threshold` noise-only echoes of the sector; $P_{md}$ and the angle RMSE (over detected
    targets) come from `n_samples` present targets, the SER from the user's messages in
    the sector each model was trained for. The same draws serve every model.

    Parameters
    ----------
    results : sequence of NeuralISACResult
        Trained models; `rho` of the output is their `omega`.
    true_positions : array_like, shape (K,)
        Element positions (wavelengths) of the true array.
    target_sector_deg : array_like, shape (2,)
    snr_radar_db, snr_comm_db : float
    p_fa : float
    n_samples, n_threshold : int
    rng : int
        Seed of the evaluation draws.
    label : str

    Returns
    -------
    IsacTradeoff
        `threshold` is NaN: each model has its own (on its logit). Monte Carlo standard
        errors as in [`isac_tradeoff`][beamopt.beampattern.isac_tradeoff].
    """
    results = list(results)
    if not results or not all(isinstance(r, NeuralISACResult) for r in results):
        raise ValueError("results must be a non-empty sequence of NeuralISACResult")
    sector = torch.tensor(np.deg2rad(check_sector(target_sector_deg, "target_sector_deg")))
    pos = torch.as_tensor(as_array(true_positions, "true_positions", dtype=float, ndim=1))
    p_fa = check_positive(p_fa, "p_fa")
    if p_fa >= 1:
        raise ValueError(f"p_fa must lie in (0, 1); got {p_fa}")
    n_samples = check_int(n_samples, "n_samples")
    n_threshold = check_int(n_threshold, "n_threshold", minimum=10)
    check_exceedances(n_threshold, p_fa, "n_threshold")
    sig_r = db_to_linear(float(as_array(snr_radar_db, "snr_radar_db", dtype=float, ndim=0)))
    sig_c = db_to_linear(float(as_array(snr_comm_db, "snr_comm_db", dtype=float, ndim=0)))
    seed = check_seed(rng)
    p_md, ser, rmse, omegas = [], [], [], []
    for res in results:
        model = res.model
        if model.n_tx != pos.numel():
            raise ValueError(f"true_positions has {pos.numel()} elements; model has {model.n_tx}")
        gen = torch.Generator().manual_seed(seed)
        comm = torch.tensor(res.comm_sector)
        h0 = _batch(gen, n_threshold, pos, sector.expand(n_threshold, 2), comm,
                    model.n_messages, sig_r, sig_c, False)  # fmt: skip
        eta = torch.quantile(_forward(model, h0)[0].double(), 1 - p_fa)
        d = _batch(gen, n_samples, pos, sector.expand(n_samples, 2), comm, model.n_messages,
                   sig_r, sig_c, True)  # fmt: skip
        logit, theta_hat, msg = _forward(model, d)
        det = (logit.double() > eta).numpy()
        err = (theta_hat - d["theta"]).double().numpy()
        p_md.append(1.0 - det.mean())
        rmse.append(rmse_and_se(err[det]))
        ser.append(float((msg.argmax(-1) != d["m"]).double().mean()))
        omegas.append(res.omega)
    p_md, ser, rmse = np.array(p_md), np.array(ser), np.array(rmse).reshape(-1, 2)
    return IsacTradeoff(
        rho=readonly(np.array(omegas)), p_md=readonly(p_md), ser=readonly(ser),
        rmse=readonly(rmse[:, 0]), threshold=float("nan"), p_fa=p_fa, label=label,
        p_md_se=readonly(proportion_se(p_md, n_samples)),
        ser_se=readonly(proportion_se(ser, n_samples)), rmse_se=readonly(rmse[:, 1]),
        n_samples=n_samples,
    )  # fmt: skip
