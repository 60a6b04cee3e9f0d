r"""The training record every beamopt trainer returns: `TrainingHistory`.

Every learned model of the package (score models, channel estimators, parameter scores,
the end-to-end ISAC learners, the end-to-end precoder) is trained by the same loop
(`beamopt._training`): Adam with a linear warm-up and cosine decay of the learning rate,

$$
\eta_k = \eta \cdot \min\!\Big(1, \frac{k+1}{k_w}\Big) \cdot
\Big[r + (1 - r)\, \tfrac12\big(1 + \cos\big(\pi\, \tfrac{k - k_w}{K - k_w}\big)\big)\Big]
\quad (k \ge k_w),
$$

a held-out loss evaluated every `eval_every` iterations on data the optimiser never sees,
the weights with the lowest held-out loss kept (and returned), and early stopping after
`patience` evaluations without improvement. `TrainingHistory` is what that loop records:
numpy arrays and numbers only, so it loads, prints and plots without torch.

Held-out data
-------------
Trainers that learn from a data set take `validation=`: a fraction of the rows held out
(default 0.1, drawn from the training seed, so the split is reproducible), 0 for none, or
explicit held-out arrays shaped like the training arguments. Trainers that draw fresh
simulated batches (the end-to-end ISAC learners) take the number of fixed held-out draws
instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_int, readonly

__all__ = ["TrainingHistory", "TrainingWarning", "split_validation", "resolve_validation"]


class TrainingWarning(UserWarning):
    """A trained model that is likely not good yet (the numbers and what to try are in the
    message). Silence with `warnings.filterwarnings("ignore", category=TrainingWarning)`."""


def _floats(values) -> np.ndarray:
    return readonly(np.asarray(values, dtype=float).copy())


@dataclass(frozen=True, repr=False, eq=False)
class TrainingHistory:
    r"""The record of one training run (held-out losses, learning rate, kept weights).

    Attributes
    ----------
    iterations : ndarray of int, shape (n_evals,)
        Optimiser steps completed at each evaluation (the first is 0: the untrained model).
    train_loss : ndarray, shape (n_evals,)
        Mean training loss over the steps since the previous evaluation (NaN at step 0).
    validation_loss : ndarray, shape (n_evals,)
        Held-out loss of the weights the trainer returns (EMA weights where the trainer keeps
        an average), NaN without held-out data.
    learning_rate : ndarray, shape (n_evals,)
        Learning rate of the last step before each evaluation.
    best_iteration : int
        Step of the returned weights: the lowest held-out loss, or the last step without
        held-out data.
    elapsed_s : float
        Wall-clock seconds of training (summed over resumed runs).
    stopped_early : bool
        Whether training ended because the held-out loss stopped improving for `patience`
        evaluations.
    n_train, n_validation : int
        Training and held-out rows (or held-out draws of a simulating trainer).
    band_loss : ndarray, shape (n_evals, n_bands), optional
        Held-out loss per noise band (diffusion models): row `i` at `iterations[i]`.
    band_edges : ndarray, shape (n_bands + 1,), optional
        Noise-level edges $\sigma$ of the bands (normalised coordinates).
    loss_name : str
        What the loss is (used as the plot's axis label).
    """

    iterations: np.ndarray
    train_loss: np.ndarray
    validation_loss: np.ndarray
    learning_rate: np.ndarray
    best_iteration: int
    elapsed_s: float
    stopped_early: bool = False
    n_train: int = 0
    n_validation: int = 0
    band_loss: np.ndarray | None = None
    band_edges: np.ndarray | None = None
    loss_name: str = "loss"

    def __post_init__(self) -> None:
        its = readonly(np.asarray(self.iterations, dtype=np.int64).copy())
        object.__setattr__(self, "iterations", its)
        for name in ("train_loss", "validation_loss", "learning_rate"):
            arr = _floats(getattr(self, name))
            if arr.shape != its.shape:
                raise ValueError(f"{name} must have shape {its.shape}; got {arr.shape}")
            object.__setattr__(self, name, arr)
        if self.band_loss is not None:
            bands = _floats(self.band_loss)
            edges = _floats(self.band_edges)
            if bands.ndim != 2 or bands.shape[0] != its.size or edges.size != bands.shape[1] + 1:
                raise ValueError(
                    "band_loss must have shape (n_evals, n_bands) and band_edges n_bands + 1 "
                    f"entries; got {bands.shape} and {edges.shape}"
                )
            object.__setattr__(self, "band_loss", bands)
            object.__setattr__(self, "band_edges", edges)

    # -- headline numbers --------------------------------------------------------------------
    @property
    def has_validation(self) -> bool:
        """Whether a held-out loss was recorded."""
        return bool(np.isfinite(self.validation_loss).any())

    @property
    def n_iterations(self) -> int:
        """Optimiser steps taken."""
        return int(self.iterations[-1]) if self.iterations.size else 0

    @property
    def best_validation_loss(self) -> float:
        """Held-out loss of the returned weights (NaN without held-out data); the lowest
        one unless a paired rule (`improvement_z`) kept an earlier iteration."""
        if not self.has_validation:
            return float("nan")
        at = np.flatnonzero(self.iterations == self.best_iteration)
        if at.size and np.isfinite(self.validation_loss[at[0]]):
            return float(self.validation_loss[at[0]])
        return float(np.nanmin(self.validation_loss))

    @property
    def initial_validation_loss(self) -> float:
        """Held-out loss of the untrained model (step 0)."""
        return float(self.validation_loss[0]) if self.iterations.size else float("nan")

    def still_improving(self, *, window: float = 0.25, rtol: float = 0.01) -> bool:
        r"""Whether the held-out loss was still falling when training ended.

        True when the best held-out loss was reached in the last `window` share of the run
        and is more than `rtol` below the best held-out loss before that window, relative
        both to the range of held-out losses seen and (times 0.1) to the loss itself: more
        iterations would likely help.
        """
        if not self.has_validation or self.stopped_early or self.iterations.size < 4:
            return False
        end = self.iterations[-1]
        late = self.iterations > (1.0 - window) * end
        val = self.validation_loss
        if late.all() or not late.any():
            return False
        before = float(np.nanmin(val[~late]))
        after = float(np.nanmin(val[late]))
        spread = float(np.nanmax(val) - np.nanmin(val))
        if not np.isfinite(spread) or spread <= 0:
            return False
        gain = before - after
        return (
            self.best_iteration > (1.0 - window) * end
            and gain > rtol * spread
            and gain > 0.1 * rtol * abs(after)
        )

    def __repr__(self) -> str:
        parts = [f"iterations={self.n_iterations}"]
        if self.has_validation:
            parts.append(
                f"validation_loss={self.best_validation_loss:.4g} at {self.best_iteration}"
                f" (untrained {self.initial_validation_loss:.4g})"
            )
        else:
            last = self.train_loss[np.isfinite(self.train_loss)]
            parts.append(f"train_loss={last[-1]:.4g}" if last.size else "train_loss=nan")
        if self.stopped_early:
            parts.append("stopped_early")
        parts.append(f"n_train={self.n_train}, n_validation={self.n_validation}")
        parts.append(f"elapsed_s={self.elapsed_s:.1f}")
        return f"TrainingHistory({', '.join(parts)})"

    # -- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain Python types (lists, floats), for checkpoints and JSON."""
        out = {
            "iterations": [int(v) for v in self.iterations],
            "train_loss": [float(v) for v in self.train_loss],
            "validation_loss": [float(v) for v in self.validation_loss],
            "learning_rate": [float(v) for v in self.learning_rate],
            "best_iteration": int(self.best_iteration),
            "elapsed_s": float(self.elapsed_s),
            "stopped_early": bool(self.stopped_early),
            "n_train": int(self.n_train),
            "n_validation": int(self.n_validation),
            "loss_name": str(self.loss_name),
            "band_loss": None,
            "band_edges": None,
        }
        if self.band_loss is not None:
            out["band_loss"] = [[float(v) for v in row] for row in self.band_loss]
            out["band_edges"] = [float(v) for v in self.band_edges]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> TrainingHistory:
        """Inverse of [`to_dict`][beamopt.training.TrainingHistory.to_dict]."""
        fields = dict(data)
        if fields.get("band_loss") is not None:
            n = len(fields["band_edges"]) - 1
            fields["band_loss"] = np.asarray(fields["band_loss"], dtype=float).reshape(-1, n)
        return cls(**fields)

    # -- figure ------------------------------------------------------------------------------
    def plot(self, ax=None, *, bands: bool = True, log: bool = True, **kwargs):
        """Training and held-out loss against iterations (and per noise band, if recorded).

        Parameters
        ----------
        ax : matplotlib Axes, optional
        bands : bool
            Also draw the held-out loss of each noise band (diffusion models), thin lines.
        log : bool
            Logarithmic loss axis (when every plotted value is positive).
        **kwargs
            Passed to the training-loss line.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.0))
        its = self.iterations
        train = np.isfinite(self.train_loss)
        ax.plot(its[train], self.train_loss[train], label="training", **kwargs)
        values = [self.train_loss[train]]
        if self.has_validation:
            ax.plot(its, self.validation_loss, "o-", ms=3, label="held-out")
            ax.axvline(self.best_iteration, color="0.5", ls=":", lw=1, label="kept weights")
            values.append(self.validation_loss)
        if bands and self.band_loss is not None:
            edges = self.band_edges
            for b in range(self.band_loss.shape[1]):
                ax.plot(its, self.band_loss[:, b], lw=0.8, alpha=0.7,
                        label=f"held-out, σ ∈ [{edges[b]:.3g}, {edges[b + 1]:.3g})")  # fmt: skip
                values.append(self.band_loss[:, b])
        flat = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.empty(0)
        if log and flat.size and np.all(flat > 0):
            ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel(self.loss_name)
        ax.legend(fontsize="small")
        return ax


def split_validation(n: int, validation, seed: int, *, name: str = "validation"):
    """Indices of training and held-out rows for a held-out `validation` fraction.

    Parameters
    ----------
    n : int
        Rows in the data set.
    validation : float
        Share of rows held out, in [0, 1); the held-out rows are a random subset drawn from
        `seed` (the same split for the same seed), at least one row when the share is > 0.
    seed : int
    name : str
        Parameter name for error messages.

    Returns
    -------
    train, held_out : ndarray of int
        Sorted row indices.
    """
    n = check_int(n, "n")
    if isinstance(validation, bool) or not isinstance(validation, int | float | np.floating):
        raise ValueError(
            f"{name} must be a held-out share in [0, 1) or held-out arrays; got {validation!r}"
        )
    share = float(validation)
    if not 0.0 <= share < 1.0:
        raise ValueError(f"{name} must be a held-out share in [0, 1); got {validation!r}")
    n_val = 0 if share == 0 else max(1, round(share * n))
    if n - n_val < 2:
        raise ValueError(f"{name}={share} leaves {n - n_val} training rows of {n}; need at least 2")
    # a generator of its own, so the split never shifts the training draws
    perm = np.random.default_rng([int(seed), 0x5EED]).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def resolve_validation(arrays, validation, seed: int, names, *, name: str = "validation"):
    """Split paired training arrays into training and held-out parts.

    Parameters
    ----------
    arrays : tuple of ndarray
        Paired arrays with the same leading length (e.g. channels and observations); None
        entries (an absent optional argument) stay None.
    validation : float, ndarray, tuple of ndarray or None
        A held-out share in [0, 1) (0 or None: no held-out data), or explicit held-out
        arrays: one array when `arrays` holds one non-None entry, else a tuple with one array
        per non-None entry, each shaped like its training counterpart except in length.
    seed : int
        Seeds the random split (see [`split_validation`][beamopt.training.split_validation]).
    names : tuple of str
        Parameter names of `arrays` for error messages.

    Returns
    -------
    train : tuple
        The training parts (the inputs themselves when nothing is split off).
    held_out : tuple or None
        The held-out parts, None without held-out data.
    """
    present = [i for i, a in enumerate(arrays) if a is not None]
    n = int(np.shape(arrays[present[0]])[0])
    if validation is None or (
        isinstance(validation, int | float) and not isinstance(validation, bool) and validation == 0
    ):
        return tuple(arrays), None
    if isinstance(validation, int | float | np.floating) and not isinstance(validation, bool):
        train_idx, val_idx = split_validation(n, validation, seed, name=name)
        train = tuple(None if a is None else a[train_idx] for a in arrays)
        held = tuple(None if a is None else a[val_idx] for a in arrays)
        return train, held
    given = validation if isinstance(validation, tuple | list) else (validation,)
    if len(given) != len(present):
        want = ", ".join(names[i] for i in present)
        raise ValueError(
            f"{name} must be a held-out share in [0, 1) or held-out arrays ({want}); got "
            f"{len(given)} array(s) for {len(present)}"
        )
    held: list = [None] * len(arrays)
    m = None
    for i, value in zip(present, given, strict=True):
        ref = arrays[i]
        arr = np.asarray(value)
        if arr.ndim != np.ndim(ref) or arr.shape[1:] != np.shape(ref)[1:]:
            raise ValueError(
                f"{name}: the held-out {names[i]} must have shape (n, "
                f"{', '.join(map(str, np.shape(ref)[1:]))}) like the training {names[i]}; "
                f"got {arr.shape}"
            )
        if m is not None and arr.shape[0] != m:
            raise ValueError(f"{name}: held-out arrays must have the same length; got {m} and "
                             f"{arr.shape[0]}")  # fmt: skip
        m = arr.shape[0]
        if m < 1:
            raise ValueError(f"{name}: the held-out {names[i]} is empty")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: the held-out {names[i]} contains NaN or inf")
        held[i] = arr.astype(np.result_type(ref.dtype, arr.dtype), copy=False)
    return tuple(arrays), tuple(held)
