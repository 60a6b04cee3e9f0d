"""Closed-form designs vs the cvxpy SDP, measured as ratios in one run.

Usage::

    python benchmarks/bench_closed_form.py [--n-batch 10000] [--repeats 5]

Pins BLAS to one thread so the numbers are per core. Prints

* the time per point of ``minimize_crb(method="closed_form")`` and of the SDP
  ``minimize_crb(method="sdp")`` on the same scenarios, and their ratio (target:
  closed form >= 1000x faster). The SDP is timed twice: over full ``n_tx x n_tx``
  covariances (the seed's formulation, ``options={"reduce": False}``) and in
  span{a, h} (beamopt's default SDP, exact and much faster);
* the batched closed form (:func:`beamopt.gaussian_isac_beamformer` plus
  :func:`beamopt.doa_information`) over a batch of random channels, in
  scenarios per second (target: >= 1e5 on one core), checked against the
  per-point results.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import beamopt  # noqa: E402


def _best_time(fn, repeats: int, number: int) -> float:
    """Best-of-``repeats`` mean time of ``number`` calls, in seconds."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def batch_crb(sc, H, gamma):
    """Gaussian-only optimal CRB for a batch of channels, fully vectorised."""
    w = beamopt.gaussian_isac_beamformer(sc.a, H, sc.power, gamma, sc.comm_noise_power)
    cW = np.abs(w @ sc.a.conj()) ** 2
    J = beamopt.doa_information(
        cW, 0.0, g0=sc.g0, n_rx=sc.n_rx, n_symbols=sc.n_symbols, db_norm2=sc.db_norm2
    )
    return 1.0 / J


def _verdict(value: float, target: float, unit: str) -> str:
    """Say plainly whether a measured number met its target."""
    if value >= target:
        return f"(target >= {target:g} {unit}: met)"
    return f"(target >= {target:g} {unit}: MISSED, {value / target:.0%} of it)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-batch", type=int, default=10_000)
    parser.add_argument("--n-points", type=int, default=10, help="scenarios timed one by one")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    base = beamopt.BistaticScenario.default()
    H = beamopt.rician_channel(
        base.n_tx, np.deg2rad(-10.0), k_factor=1.0, gain=beamopt.path_loss(80.0, 2.8),
        size=args.n_batch, rng=rng,
    )  # fmt: skip
    max_snr = base.power * np.sum(np.abs(H) ** 2, axis=-1) / base.comm_noise_power
    gamma = rng.uniform(0.0, 0.95, size=args.n_batch) * max_snr
    scenarios = [base.replace(channel=H[i]) for i in range(args.n_points)]

    # warm up every path (cvxpy import and first compilation are not per-point costs)
    full = {"reduce": False}
    beamopt.minimize_crb(scenarios[0], gamma[0], method="sdp")
    beamopt.minimize_crb(scenarios[0], gamma[0], method="sdp", options=full)
    t_cf = t_sdp = t_red = 0.0
    max_rel = 0.0
    for i, sc in enumerate(scenarios):
        g = gamma[i]
        t_cf += _best_time(lambda sc=sc, g=g: beamopt.minimize_crb(sc, g), args.repeats, 50)
        t_sdp += _best_time(
            lambda sc=sc, g=g: beamopt.minimize_crb(sc, g, method="sdp", options=full), 1, 1
        )
        t_red += _best_time(lambda sc=sc, g=g: beamopt.minimize_crb(sc, g, method="sdp"), 1, 3)
        cf = beamopt.minimize_crb(sc, g).crb
        for opts in (full, None):
            sdp = beamopt.minimize_crb(sc, g, method="sdp", options=opts).crb
            max_rel = max(max_rel, abs(cf - sdp) / sdp)
    t_cf /= args.n_points
    t_sdp /= args.n_points
    t_red /= args.n_points

    t_batch = _best_time(lambda: batch_crb(base, H, gamma), args.repeats, 1)
    crb_batch = batch_crb(base, H, gamma)
    ref = np.array([beamopt.minimize_crb(sc, gamma[i]).crb for i, sc in enumerate(scenarios)])
    batch_rel = float(np.max(np.abs(crb_batch[: args.n_points] - ref) / ref))

    print(f"scenario: default (n_tx={base.n_tx}, n_rx={base.n_rx}), {args.n_points} channels")
    print(f"closed form per point        : {t_cf * 1e6:10.1f} us")
    print(f"SDP, full space, per point   : {t_sdp * 1e6:10.1f} us")
    print(f"SDP, span{{a,h}}, per point    : {t_red * 1e6:10.1f} us")
    speedup, rate = t_sdp / t_cf, args.n_batch / t_batch
    print(f"speed-up vs full-space SDP   : {speedup:10.0f} x   {_verdict(speedup, 1000, 'x')}")
    print(f"speed-up vs span{{a,h}} SDP    : {t_red / t_cf:10.0f} x")
    print(f"max |CRB_cf - CRB_sdp| / CRB_sdp over both SDPs = {max_rel:.2e}")
    print(f"batched closed form   : {rate:10.3g} scenarios/s on one core "
          f"{_verdict(rate, 1e5, 'scenarios/s')}; batch vs per-point max rel. diff "
          f"{batch_rel:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
