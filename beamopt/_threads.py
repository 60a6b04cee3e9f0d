"""BLAS thread control for hot batched paths.

Many small BLAS or LAPACK calls in a row (a stack of tiny matrix products, one small
eigendecomposition per trial) run fastest in one thread: a multi-threaded BLAS wakes its
pool for each call, and on a busy machine the waiting threads steal the cores the work
needs. The solvers avoid such stacks where they can (elementwise reductions, factors);
`single_blas_thread` covers the rest.
"""

from __future__ import annotations

import contextlib

__all__ = ["single_blas_thread"]


def single_blas_thread():
    """Context manager running BLAS in one thread (threadpoolctl), or a no-op without it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: the hot paths do not depend on it
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
