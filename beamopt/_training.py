r"""The optimisation loop every beamopt trainer shares (torch; imported by learning modules only).

One loop for the score models, estimators, parameter scores, the end-to-end ISAC learners and
the end-to-end precoder: Adam with warm-up and cosine decay, optional gradient clipping and
an exponential moving average (EMA) of the weights, a held-out loss on a fixed schedule, the
best held-out weights kept, early stopping, and a checkpoint that resumes bit for bit (the
held-out record and the kept weights included). The record it returns is a
[`TrainingHistory`][beamopt.training.TrainingHistory].
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from ._io import progress_bar
from ._validation import check_choice, check_int, check_positive
from .training import TrainingHistory

__all__ = [
    "LoopSettings",
    "lr_factor",
    "run",
    "check_patience",
    "check_improvement_z",
    "LR_SCHEDULES",
]

LR_SCHEDULES = ("cosine", "constant")


def check_patience(patience) -> int | None:
    """None (no early stopping) or an int >= 1."""
    return None if patience is None else check_int(patience, "patience")


def check_improvement_z(value) -> float:
    """A finite z-score >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise ValueError(f"improvement_z must be a finite number >= 0; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class LoopSettings:
    """Optimiser and evaluation settings of one run of the loop.

    `lr_final` is the share of `lr` the cosine schedule ends at; `patience` counts
    evaluations without a held-out improvement (None: never stop early). With
    `improvement_z > 0` and a `validate` that returns per-row losses, a new best must lower
    the held-out loss by `improvement_z` paired standard errors (over the held-out rows)
    below the kept one's; 0 accepts any lower mean. Patience counts evaluations since the
    held-out mean last reached a new low, significant or not.
    """

    n_iterations: int
    lr: float
    warmup: int = 0
    lr_schedule: str = "cosine"
    lr_final: float = 0.05
    grad_clip: float | None = None
    ema_decay: float | None = None
    eval_every: int = 250
    patience: int | None = None
    checkpoint_every: int = 500
    improvement_z: float = 0.0

    def __post_init__(self) -> None:
        check_int(self.n_iterations, "n_iterations", minimum=0)
        check_positive(self.lr, "lr")
        check_int(self.warmup, "warmup", minimum=0)
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        if not (isinstance(self.lr_final, int | float) and 0 <= self.lr_final <= 1):
            raise ValueError(f"lr_final must lie in [0, 1]; got {self.lr_final!r}")
        check_int(self.eval_every, "eval_every")
        check_patience(self.patience)
        check_int(self.checkpoint_every, "checkpoint_every")
        check_improvement_z(self.improvement_z)


def lr_factor(step: int, settings: LoopSettings) -> float:
    r"""Learning-rate multiplier of step `step` (0-based): linear warm-up, then cosine decay
    from 1 to `lr_final` at the last step (or constant)."""
    warm = min(1.0, (step + 1) / max(settings.warmup, 1))
    if settings.lr_schedule == "constant" or step < settings.warmup:
        return warm
    span = max(settings.n_iterations - settings.warmup, 1)
    frac = min(1.0, (step - settings.warmup) / span)
    r = settings.lr_final
    return r + (1.0 - r) * 0.5 * (1.0 + math.cos(math.pi * frac))


def _state(module: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _as_loss(value):
    """A validation callback's output -> (loss, band losses or None, per-row losses or None).

    The callback returns a float, `(loss, band_losses)`, or a 1-D array of per-row held-out
    losses (the loss is their mean; the rows feed the paired `improvement_z` test).
    """
    if isinstance(value, tuple):
        loss, bands = value
        return float(loss), None if bands is None else np.asarray(bands, dtype=float), None
    if isinstance(value, np.ndarray | torch.Tensor) and np.ndim(value) == 1:
        rows = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value)
        rows = rows.astype(np.float64)
        return float(rows.mean()) if rows.size else math.nan, None, rows
    return float(value), None, None


def _significant(rows, best_rows, z: float) -> bool:
    """Whether `rows` lowers the paired held-out loss by at least `z` standard errors."""
    if z <= 0 or rows is None or best_rows is None or rows.shape != best_rows.shape:
        return True
    diff = rows - best_rows
    if diff.size < 2:
        return True
    return float(diff.mean()) < -z * float(diff.std(ddof=1)) / math.sqrt(diff.size)


def run(
    network: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, torch.Generator], torch.Tensor],
    *,
    settings: LoopSettings,
    generator: torch.Generator,
    validate: Callable[[torch.nn.Module], object] | None = None,
    parameters: Iterable[torch.nn.Parameter] | None = None,
    resume: dict | None = None,
    save: Callable[[dict, dict, TrainingHistory], None] | None = None,
    progress: bool = False,
    desc: str = "training",
    n_train: int = 0,
    n_validation: int = 0,
    band_edges=None,
    loss_name: str = "loss",
) -> tuple[torch.nn.Module, TrainingHistory]:
    """Train `network` and return (the kept model, its `TrainingHistory`).

    Parameters
    ----------
    network : torch.nn.Module
        Trained in place (on its device).
    loss_fn : callable
        `loss_fn(network, generator)` draws its own minibatch from `generator` and returns
        the scalar training loss.
    settings : LoopSettings
    generator : torch.Generator
        The run's only source of training randomness (its state is checkpointed).
    validate : callable, optional
        `validate(model)` returns the held-out loss of `model` (the EMA copy when
        `settings.ema_decay` is set) as a float, or `(loss, band_losses)`. It must be
        deterministic (fixed held-out data and fixed noise) so a resumed run records what an
        uninterrupted one does. Called in eval mode at step 0, every `eval_every` steps and
        at the end.
    parameters : iterable of Parameter, optional
        The parameters to optimise (default: all of `network`'s).
    resume : dict, optional
        A state previously passed to `save`; training continues from it.
    save : callable, optional
        `save(state, kept_weights, history)` is called every `checkpoint_every` steps and at
        the end; `state` holds everything needed to resume, `kept_weights` the state dict of
        the model the run would return now, `history` the record so far.
    progress : bool
        Show a progress bar.
    desc : str
    n_train, n_validation : int
        Recorded in the history.
    band_edges : array_like, optional
        Edges of the noise bands when `validate` returns band losses.
    loss_name : str

    Returns
    -------
    model : torch.nn.Module
        The EMA copy (or `network`) holding the kept weights, in eval mode.
    history : TrainingHistory
    """
    params = list(network.parameters() if parameters is None else parameters)
    network.train()
    ema = None
    if settings.ema_decay is not None:
        ema = copy.deepcopy(network).requires_grad_(False)
    model = network if ema is None else ema
    optimizer = torch.optim.Adam(params, lr=settings.lr)

    rec = {"iterations": [], "train_loss": [], "validation_loss": [], "learning_rate": [],
           "band_loss": []}  # fmt: skip
    best = {"loss": math.inf, "iteration": 0, "weights": None, "rows": None}
    bad, stopped, elapsed, start = 0, False, 0.0, 0
    if resume is not None:
        network.load_state_dict(resume["weights"])
        if ema is not None:
            ema.load_state_dict(resume["ema"])
        optimizer.load_state_dict(resume["optimizer"])
        generator.set_state(resume["rng"])
        start = int(resume["iteration"])
        loop = resume["loop"]
        rec = {k: list(v) for k, v in loop["record"].items()}
        rows = loop.get("best_rows")
        best = {"loss": float(loop["best_loss"]), "iteration": int(loop["best_iteration"]),
                "weights": loop["best_weights"],
                "rows": None if rows is None else np.asarray(rows, dtype=np.float64)}  # fmt: skip
        bad, elapsed = int(loop["bad"]), float(loop["elapsed"])
        # patience may change between runs: a run stopped early continues when it is raised
        stopped = settings.patience is not None and bad >= settings.patience

    def kept_weights() -> dict:
        return best["weights"] if best["weights"] is not None else _state(model)

    def state(step: int) -> dict:
        return {
            "iteration": step,
            "weights": _state(network),
            "ema": None if ema is None else _state(ema),
            "optimizer": optimizer.state_dict(),
            "rng": generator.get_state(),
            "loop": {
                "record": {k: list(v) for k, v in rec.items()},
                "best_loss": best["loss"],
                "best_iteration": best["iteration"],
                "best_weights": best["weights"],
                "best_rows": None
                if best["rows"] is None
                else torch.as_tensor(best["rows"], dtype=torch.float64),
                "bad": bad,
                "stopped": stopped,
                "elapsed": elapsed,
            },
        }

    def make_history() -> TrainingHistory:
        if validate is not None and best["weights"] is not None:
            best_iteration = best["iteration"]
        else:
            best_iteration = rec["iterations"][-1] if rec["iterations"] else 0
        bands = rec["band_loss"]
        has_bands = band_edges is not None and bool(bands) and all(b is not None for b in bands)
        return TrainingHistory(
            iterations=rec["iterations"],
            train_loss=rec["train_loss"],
            validation_loss=rec["validation_loss"],
            learning_rate=rec["learning_rate"],
            best_iteration=best_iteration,
            elapsed_s=elapsed,
            stopped_early=stopped,
            n_train=n_train,
            n_validation=n_validation,
            band_loss=np.asarray(bands, dtype=float) if has_bands else None,
            band_edges=np.asarray(band_edges, dtype=float) if has_bands else None,
            loss_name=loss_name,
        )

    def evaluate(step: int, train_mean: float, lr: float) -> None:
        nonlocal bad, stopped
        val, bands, rows = math.nan, None, None
        if validate is not None:
            was_training = model.training
            model.eval()
            val, bands, rows = _as_loss(validate(model))
            model.train(was_training)
        seen = [v for v in rec["validation_loss"] if math.isfinite(v)]
        lowest = min(seen, default=math.inf)
        rec["iterations"].append(step)
        rec["train_loss"].append(train_mean)
        rec["validation_loss"].append(val)
        rec["learning_rate"].append(lr)
        rec["band_loss"].append(None if bands is None else [float(b) for b in bands])
        if validate is None:
            return
        if (
            math.isfinite(val)
            and val < best["loss"]
            and _significant(rows, best["rows"], settings.improvement_z)
        ):
            best.update(loss=val, iteration=step, weights=_state(model), rows=rows)
        # patience counts evaluations since the held-out mean last fell at all, so a slow
        # run of small (not yet significant) gains keeps training while the kept weights wait
        if math.isfinite(val) and val < lowest:
            bad = 0
        else:
            bad += 1
            if settings.patience is not None and bad >= settings.patience:
                stopped = True

    t0 = time.perf_counter()
    if start == 0 and not rec["iterations"]:
        evaluate(0, math.nan, 0.0)
    total = settings.n_iterations
    steps = range(start, total) if not stopped else range(0)
    bar = progress_bar(steps, progress, desc, total=len(steps))
    acc = torch.zeros((), dtype=torch.float64, device=next(iter(params)).device)
    count, lr = 0, settings.lr
    for it in bar:
        lr = settings.lr * lr_factor(it, settings)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = loss_fn(network, generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at iteration {it}; lower the learning "
                f"rate (now {lr:.3g}) or check the data for NaN/inf"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
        optimizer.step()
        if ema is not None:
            decay = min(settings.ema_decay, (1.0 + it) / (10.0 + it))
            with torch.no_grad():
                for p_ema, p in zip(ema.parameters(), network.parameters(), strict=True):
                    p_ema.lerp_(p, 1.0 - decay)
        acc += loss.detach().to(torch.float64)
        count += 1
        done = it + 1
        if done % settings.eval_every == 0 or done == total:
            evaluate(done, float(acc.item()) / count, lr)
            acc.zero_()
            count = 0
            if hasattr(bar, "set_postfix"):
                val = rec["validation_loss"][-1]
                bar.set_postfix(train=f"{rec['train_loss'][-1]:.4g}", held_out=f"{val:.4g}")
        if stopped:
            elapsed += time.perf_counter() - t0
            t0 = time.perf_counter()
            if save is not None:
                save(state(done), kept_weights(), make_history())
            break
        if save is not None and (done % settings.checkpoint_every == 0 or done == total):
            elapsed += time.perf_counter() - t0
            t0 = time.perf_counter()
            save(state(done), kept_weights(), make_history())
    elapsed += time.perf_counter() - t0
    if hasattr(bar, "close"):
        bar.close()

    if validate is not None and best["weights"] is not None:
        model.load_state_dict(best["weights"])
    history = make_history()
    return model.eval(), history
