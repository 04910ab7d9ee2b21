"""Tensor factories against torch: arange's length and refusals over integer and float
bounds, steps and dtypes; zeros' sizes; the dtype a factory gives is the one torch gives."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import requires_torch
from convcalc.errors import ConvcalcError
from convcalc.ops import FUNCTIONS

pytestmark = requires_torch
torch = pytest.importorskip("torch")

NUMBERS = st.one_of(st.integers(-20, 20), st.floats(-20, 20, allow_nan=False, allow_infinity=False).map(
    lambda v: round(v, 2)))
DTYPES = st.sampled_from([None, "int64", "int32", "float32", "float64", "float16", "uint8"])


def ours(name, args, kwargs):
    ftype = FUNCTIONS[name]
    try:
        step = ftype.apply(ftype.shapes(ftype.bind(args, kwargs)))
    except ConvcalcError:
        return "refused"
    return step.out, step.dtype


def theirs(name, args, kwargs):
    kwargs = {k: getattr(torch, v) if k == "dtype" and v else v for k, v in kwargs.items()}
    try:
        out = getattr(torch, name)(*args, **kwargs)
    except (RuntimeError, ValueError, TypeError, OverflowError):
        return "refused"
    return tuple(out.shape), str(out.dtype).removeprefix("torch.")


@settings(max_examples=300, deadline=None)
@given(start=NUMBERS, end=NUMBERS, step=NUMBERS.filter(lambda v: abs(v) > 0.05 or v == 0), dtype=DTYPES)
def test_arange_matches_torch(start, end, step, dtype):
    kwargs = {"dtype": dtype} if dtype else {}
    assert ours("arange", [start, end, step], kwargs) == theirs("arange", [start, end, step], kwargs)


@settings(max_examples=100, deadline=None)
@given(size=st.lists(st.integers(-2, 4), max_size=4), dtype=DTYPES,
       name=st.sampled_from(["zeros", "ones", "empty", "rand", "randn"]))
def test_factories_match_torch(size, dtype, name):
    kwargs = {"dtype": dtype} if dtype else {}
    assert ours(name, [tuple(size)], kwargs) == theirs(name, [tuple(size)], kwargs)


@pytest.mark.parametrize("fill", [1, 2.5, -3])
def test_full_takes_its_fill_values_dtype(fill):
    assert ours("full", [(2, 3), fill], {}) == theirs("full", [(2, 3), fill], {})
