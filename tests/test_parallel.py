"""Executor helpers (beamopt._parallel): the same numbers on every executor and worker count."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from beamopt._parallel import (
    check_executor,
    child_seeds,
    chunk_sizes,
    monte_carlo,
    run_seeds,
    run_tasks,
    spawn_generators,
)


def _normal_sum(n, rng, scale):
    """A stand-in Monte Carlo chunk: module level, so process pools can pickle it."""
    return scale * rng.standard_normal(n)


def _seeded_draw(seed, size):
    return np.random.default_rng(seed).standard_normal(size)


def _fail_on(i):
    if i == 2:
        raise RuntimeError("task 2 failed")
    return i


def test_chunks_cover_the_trials_in_order():
    assert chunk_sizes(10, 4) == [4, 4, 2]
    assert chunk_sizes(8, 4) == [4, 4]
    assert sum(chunk_sizes(1001, 256)) == 1001


def test_monte_carlo_chunk_c_draws_from_child_c():
    # the reference: chunk c is child c of the seed's SeedSequence, drawn independently
    got = monte_carlo(_normal_sum, 10, chunk_size=4, rng=7, args=(2.0,))
    children = np.random.SeedSequence(7).spawn(3)
    want = [2.0 * np.random.default_rng(c).standard_normal(n) for c, n in zip(children, [4, 4, 2])]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("workers", [1, 3])
def test_thread_pools_of_any_size_give_the_serial_numbers(workers):
    serial = monte_carlo(_normal_sum, 1000, chunk_size=64, rng=3, args=(1.0,))
    with ThreadPoolExecutor(max_workers=workers) as ex:
        pooled = monte_carlo(_normal_sum, 1000, chunk_size=64, rng=3, args=(1.0,), executor=ex)
    np.testing.assert_array_equal(np.concatenate(serial), np.concatenate(pooled))


@pytest.mark.slow  # ~5 s of worker start-up; the command line's --workers test forks a pool
def test_process_pool_gives_the_serial_numbers():
    serial = run_seeds(_seeded_draw, 4, seed=11, args=(5,))
    spawn = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as ex:
        pooled = run_seeds(_seeded_draw, 4, seed=11, args=(5,), executor=ex)
    np.testing.assert_array_equal(np.array(serial), np.array(pooled))


def test_dask_executor_gives_the_serial_numbers(dask_executor):
    serial = monte_carlo(_normal_sum, 300, chunk_size=50, rng=5, args=(1.0,))
    remote = monte_carlo(_normal_sum, 300, chunk_size=50, rng=5, args=(1.0,),
                         executor=dask_executor)  # fmt: skip
    np.testing.assert_array_equal(np.concatenate(serial), np.concatenate(remote))


def test_seed_ensembles_extend_and_are_independent():
    three, five = child_seeds(0, 3), child_seeds(0, 5)
    assert five[:3] == three  # seed i does not depend on the ensemble size
    assert len(set(five)) == 5 and all(0 <= s < 2**32 for s in five)
    # a Generator spawns fresh children on every call: two ensembles do not repeat
    gen = np.random.default_rng(0)
    assert child_seeds(gen, 2) != child_seeds(gen, 2)


def test_spawned_generators_do_not_depend_on_earlier_draws():
    a = np.random.default_rng(9)
    b = np.random.default_rng(9)
    b.standard_normal(100)
    np.testing.assert_array_equal(
        spawn_generators(a, 1)[0].standard_normal(3), spawn_generators(b, 1)[0].standard_normal(3)
    )


def test_a_failing_task_raises_its_own_error():
    with ThreadPoolExecutor(max_workers=2) as ex, pytest.raises(RuntimeError, match="task 2"):
        run_tasks(_fail_on, [(i,) for i in range(5)], executor=ex)
    with pytest.raises(RuntimeError, match="task 2"):
        run_tasks(_fail_on, [(i,) for i in range(5)])


def test_bad_executor_names_what_is_expected():
    with pytest.raises(ValueError, match=r"executor must be None or an object with submit"):
        check_executor(4)
    with pytest.raises(ValueError, match="chunk_size"):
        monte_carlo(_normal_sum, 10, chunk_size=0, args=(1.0,))
    with pytest.raises(ValueError, match="n_seeds"):
        run_seeds(_seeded_draw, 0, args=(1,))
