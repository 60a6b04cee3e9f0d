"""Unit conversions shared by every family: decibels and dBm."""

from __future__ import annotations

import numpy as np

__all__ = ["db_to_linear", "linear_to_db", "dbm_to_watt", "watt_to_dbm"]


def db_to_linear(value_db):
    """`10^(x/10)`, elementwise."""
    return 10.0 ** (np.asarray(value_db, dtype=float) / 10.0)


def linear_to_db(value):
    """`10 log10(x)`, elementwise."""
    return 10.0 * np.log10(np.asarray(value, dtype=float))


def dbm_to_watt(value_dbm):
    """Convert dBm to watts, elementwise."""
    return db_to_linear(np.asarray(value_dbm, dtype=float) - 30.0)


def watt_to_dbm(value_w):
    """Convert watts to dBm, elementwise (`10 log10(P / 1 mW)`)."""
    return linear_to_db(value_w) + 30.0
