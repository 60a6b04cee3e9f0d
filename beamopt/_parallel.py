r"""Monte Carlo work spread over an executor, with the same numbers as the serial loop.

A run is cut into *tasks* fixed by the problem, never by the number of workers: a chunk of
`chunk_size` trials, a sweep point, a channel draw, a training seed. Task $i$ draws from its
own random stream, child $i$ of one `numpy.random.SeedSequence`
(`numpy.random.Generator.spawn`), tasks are submitted in order and their results read back
in order. So every executor and every number of workers gives bit-identical results:
`None` (a plain loop in this process), a `concurrent.futures.ThreadPoolExecutor` or
`ProcessPoolExecutor`, or dask.distributed's `Client.get_executor()` to go past one machine.

The public entry points that take `executor=` (`average_boundary`, `crb_sweep`, `doa_mse`,
`isac_tradeoff`, `mmse_monte_carlo`, `build_dataset`) are thin loops over
[`run_tasks`][beamopt._parallel.run_tasks] and
[`monte_carlo`][beamopt._parallel.monte_carlo]. A seed ensemble of training runs is
[`run_seeds`][beamopt._parallel.run_seeds]:

```python
def _train_one(seed, data, config):          # module level, so processes can pickle it
    return train_score_model(data, config, seed=seed)

models = run_seeds(_train_one, n_seeds, seed=seed, args=(data, config), executor=executor)
```

A task function must be defined at module level (process pools and dask pickle it by
reference) and take only picklable arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._io import progress_bar
from ._validation import as_generator, check_int

__all__ = ["check_executor", "spawn_generators", "child_seeds", "run_tasks", "monte_carlo",
           "run_seeds"]  # fmt: skip


def check_executor(executor):
    """Return `executor` (None or an object with `submit(fn, *args)` returning a future)."""
    if executor is None or callable(getattr(executor, "submit", None)):
        return executor
    raise ValueError(
        "executor must be None or an object with submit(fn, *args) -> future, e.g. a "
        "concurrent.futures.ThreadPoolExecutor/ProcessPoolExecutor or dask.distributed's "
        f"Client.get_executor(); got {type(executor).__name__}"
    )


def spawn_generators(rng, n: int) -> list[np.random.Generator]:
    """`n` independent generators, the children of `rng` (None, an int seed or a Generator).

    Spawning advances `rng`'s seed sequence, not its stream: two calls give different
    children, and the children do not depend on what `rng` drew before.
    """
    return as_generator(rng).spawn(n)


def child_seeds(seed, n: int) -> list[int]:
    """`n` integer seeds in `[0, 2**32)` from the children of `seed`, for APIs that take an int
    (torch, sionna, a training function's `seed=`)."""
    return [int(g.bit_generator.seed_seq.generate_state(1, np.uint32)[0])
            for g in spawn_generators(seed, n)]  # fmt: skip


def run_tasks(
    fn: Callable,
    tasks: Sequence[tuple],
    *,
    executor=None,
    progress: bool = False,
    desc: str = "tasks",
) -> list:
    """`[fn(*task) for task in tasks]`, on `executor` when one is given, in task order.

    Parameters
    ----------
    fn : callable
        Module-level function (picklable for process pools and dask).
    tasks : sequence of tuple
        Positional arguments of each call.
    executor : optional
        None (serial, in this process) or anything with `submit(fn, *args)` returning a
        future with `result()`.
    progress : bool
        A progress bar over the tasks (results are read in order, so it moves as the
        leading tasks finish).
    desc : str
        Label of the progress bar.

    Returns
    -------
    list
        The results in task order. If a task raises, the tasks not yet started are
        cancelled and its exception propagates.
    """
    executor = check_executor(executor)
    if executor is None:
        return [fn(*task) for task in progress_bar(tasks, progress, desc)]
    futures = [executor.submit(fn, *task) for task in tasks]
    try:
        return [f.result() for f in progress_bar(futures, progress, desc)]
    except BaseException:
        for f in futures:
            f.cancel()
        raise


def chunk_sizes(n: int, chunk_size: int) -> list[int]:
    """Sizes of the chunks of `n` trials: full chunks of `chunk_size`, then the rest."""
    full, rest = divmod(n, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def monte_carlo(
    fn: Callable,
    n_trials: int,
    *,
    chunk_size: int,
    rng=None,
    args: tuple = (),
    executor=None,
    progress: bool = False,
    desc: str = "trials",
) -> list:
    """Run `fn(n, generator, *args)` on chunks of `n_trials` trials, chunk $c$ drawing from
    child $c$ of `rng`; returns the chunk results in order.

    The chunks depend on `n_trials` and `chunk_size` only, so the results are identical for
    every executor and every number of workers (`chunk_size` itself changes the random
    stream, not the statistics).
    """
    n_trials = check_int(n_trials, "n_trials")
    chunk_size = check_int(chunk_size, "chunk_size")
    sizes = chunk_sizes(n_trials, chunk_size)
    tasks = [(n, g, *args) for n, g in zip(sizes, spawn_generators(rng, len(sizes)))]
    return run_tasks(fn, tasks, executor=executor, progress=progress, desc=desc)


def run_seeds(
    fn: Callable,
    n_seeds: int,
    *,
    seed=0,
    args: tuple = (),
    executor=None,
    progress: bool = False,
    desc: str = "seeds",
) -> list:
    """A seed ensemble: `fn(seed_i, *args)` for the `n_seeds` seeds of
    [`child_seeds`][beamopt._parallel.child_seeds]`(seed, n_seeds)`, results in seed order.

    Seed $i$ does not depend on `n_seeds` beyond $i$, so an ensemble of 5 extends one of 3.
    """
    n_seeds = check_int(n_seeds, "n_seeds")
    tasks = [(s, *args) for s in child_seeds(seed, n_seeds)]
    return run_tasks(fn, tasks, executor=executor, progress=progress, desc=desc)
