r"""Seed ensembles of learned parameter scores, and the folds they hold out.

A learned metric varies with the training run (initialisation, minibatches, the held-out
split) as well as with the Monte Carlo draws it averages over. A
[`ScoreEnsemble`][beamopt.metrics.ensemble.ScoreEnsemble] holds $K$ models trained on the
same samples with seeds `seed, seed + 1, ...`
([`train_parameter_score(..., n_seeds=K)`][beamopt.metrics.score_matching.train_parameter_score]);
its `score`, `smoothed_score` and `score_jacobian` return one array per member (a leading
axis of length $K$), which the metrics turn into an estimate with both error parts:

- [`score_fim`][beamopt.metrics.fim.score_fim] /
  [`bayesian_fim`][beamopt.metrics.fim.bayesian_fim] / [`bcrb`][beamopt.metrics.fim.bcrb],
- [`kl_divergence`][beamopt.metrics.information.kl_divergence] /
  [`mutual_information`][beamopt.metrics.information.mutual_information] (score callables that
  return the ensemble's `(K, B, d)` arrays).

Members hold out disjoint folds of the training rows (`held_out_rows`), so a metric
evaluated on the training samples can be *cross-fitted*: each row is scored by the members
that never trained on it. This module is numpy only; the members are torch models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import write_atomic
from .._validation import check_int
from ..training import split_validation
from ._checks import data_fingerprint

__all__ = ["ScoreEnsemble", "fold_rows"]


def fold_rows(n: int, share: float, n_seeds: int, seed: int) -> list[np.ndarray]:
    r"""Held-out rows of each ensemble member: disjoint folds of one random permutation.

    The $n$ rows are cut into $F = \operatorname{round}(1/\text{share})$ folds (at least 2);
    member $i$ holds out fold $i \bmod F$, so with $n_{\rm seeds} \ge F$ every row is held out
    by some member. The permutation is drawn from `seed` alone.

    Returns
    -------
    list of ndarray of int
        Sorted row indices, one array per member.
    """
    n = check_int(n, "n")
    n_seeds = check_int(n_seeds, "n_seeds")
    split_validation(n, share, seed)  # the same checks (share in (0, 1), rows left to train on)
    n_folds = max(2, round(1.0 / float(share)))
    perm = np.random.default_rng([int(seed), 0xF01D]).permutation(n)
    folds = np.array_split(perm, n_folds)
    return [np.sort(folds[i % n_folds]) for i in range(n_seeds)]


class ScoreEnsemble:
    r"""$K$ learned scores of the same samples, one per training seed.

    Parameters
    ----------
    members : sequence of ParameterScore
        Trained on the same samples (same objective, dimension and condition dimension).
    seeds : sequence of int
        The training seed of each member.

    Attributes
    ----------
    members : tuple of ParameterScore
    seeds : tuple of int
    held_out_rows : tuple of (ndarray or None)
        Rows of the training samples each member never trained on.
    histories : tuple of TrainingHistory
    """

    def __init__(self, members: Sequence, *, seeds: Sequence[int]):
        members = tuple(members)
        if not members:
            raise ValueError("members must hold at least one trained model")
        if len(seeds) != len(members):
            raise ValueError(
                f"seeds must name one seed per member; got {len(seeds)} for {len(members)}"
            )
        first = members[0]
        for m in members[1:]:
            if (m.objective, m.dim, m.cond_dim) != (first.objective, first.dim, first.cond_dim):
                raise ValueError("members must share objective, dim and cond_dim")
        prints = {m.data_fingerprint for m in members}
        if len(prints) > 1:
            raise ValueError("members must be trained on the same samples")
        self.members = members
        self.seeds = tuple(int(s) for s in seeds)

    # -- description -----------------------------------------------------------------------
    @property
    def n_seeds(self) -> int:
        return len(self.members)

    @property
    def objective(self) -> str:
        return self.members[0].objective

    @property
    def dim(self) -> int:
        return self.members[0].dim

    @property
    def cond_dim(self) -> int:
        return self.members[0].cond_dim

    @property
    def noise_conditional(self) -> bool:
        return self.members[0].noise_conditional

    @property
    def sigma_range(self) -> tuple[float, float] | None:
        """The noise levels every member was trained on (data units; None for ISM models)."""
        ranges = [m.sigma_range for m in self.members]
        if any(r is None for r in ranges):
            return None
        return max(r[0] for r in ranges), min(r[1] for r in ranges)

    @property
    def classifier_free(self) -> bool:
        return self.members[0].classifier_free

    @property
    def data_fingerprint(self) -> str | None:
        return self.members[0].data_fingerprint

    @property
    def held_out_rows(self) -> tuple:
        return tuple(m.held_out_rows for m in self.members)

    @property
    def histories(self) -> tuple:
        return tuple(m.history for m in self.members)

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self):
        return iter(self.members)

    def __getitem__(self, i):
        return self.members[i]

    def __repr__(self) -> str:
        parts = [f"{self.n_seeds} x {self.objective}", f"dim={self.dim}"]
        if self.cond_dim:
            parts.append(
                f"cond_dim={self.cond_dim}" + (", classifier-free" if self.classifier_free else "")
            )
        hist = [h for h in self.histories if h is not None]
        if hist:
            best = [h.best_iteration for h in hist]
            parts.append(f"best iteration {min(best)}-{max(best)}")
            val = np.array([h.best_validation_loss for h in hist])
            if np.isfinite(val).all():
                parts.append(
                    f"held-out loss {val.mean():.4g} ± {val.std(ddof=1) if len(val) > 1 else 0:.2g}"
                )
        if all(r is not None for r in self.held_out_rows):
            parts.append(f"{sum(len(r) for r in self.held_out_rows)} held-out rows in folds")
        return f"ScoreEnsemble({', '.join(parts)})"

    # -- evaluation (one array per member) ---------------------------------------------------
    def score(self, theta, condition=None) -> np.ndarray:
        """Each member's `score`: shape (n_seeds, n, dim)."""
        return np.stack([m.score(theta, condition) for m in self.members])

    def smoothed_score(self, x, sigma, condition=None) -> np.ndarray:
        """Each member's `smoothed_score` (DSM models): shape (n_seeds, n, dim)."""
        return np.stack([m.smoothed_score(x, sigma, condition) for m in self.members])

    def score_jacobian(self, theta, condition=None) -> np.ndarray:
        """Each member's `score_jacobian`: shape (n_seeds, n, dim, dim)."""
        return np.stack([m.score_jacobian(theta, condition) for m in self.members])

    def is_training_data(self, samples, conditions=None) -> bool:
        """Whether `samples` (and `conditions`) are exactly the rows the members trained on."""
        if self.data_fingerprint is None:
            return False
        return data_fingerprint(samples, conditions) == self.data_fingerprint

    # -- persistence -----------------------------------------------------------------------
    def save(self, directory) -> Path:
        """Write every member (`member_<i>.pt`) and an index (`ensemble.json`) atomically."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        for i, m in enumerate(self.members):
            m.save(root / f"member_{i}.pt")
        write_atomic(root / "ensemble.json", json.dumps({"seeds": list(self.seeds)}))
        return root

    @classmethod
    def load(cls, directory, *, device="cpu") -> ScoreEnsemble:
        """Load an ensemble written by `save` (or the checkpoint directory of a training)."""
        from .score_matching import ParameterScore

        root = Path(directory)
        index = root / "ensemble.json"
        if index.exists():
            seeds = json.loads(index.read_text())["seeds"]
        else:  # a training checkpoint directory: members in order
            seeds = list(range(len(list(root.glob("member_*.pt")))))
        if not seeds:
            raise ValueError(f"directory {str(root)!r} holds no ensemble members")
        members = [
            ParameterScore.load(root / f"member_{i}.pt", device=device) for i in range(len(seeds))
        ]
        return cls(members, seeds=seeds)


def held_out_mask(ensemble: ScoreEnsemble, n: int) -> np.ndarray:
    """Boolean (n_seeds, n): entry [k, i] is True when member k never trained on row i."""
    mask = np.zeros((ensemble.n_seeds, n), dtype=bool)
    for k, rows in enumerate(ensemble.held_out_rows):
        if rows is not None:
            mask[k, rows] = True
    return mask
