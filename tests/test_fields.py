"""The receptive field follows tensor axes: windows on the last dims, permutations move the
axes (a channels-last block keeps its field), merges of spatial dims and mixing make it
global."""

import pytest

from helpers import report_of


def field(text):
    report = report_of(text)
    return [(r.rf.is_global, tuple(int(v) for v in r.rf.size)) for r in report.rows]


CONV = "input: [1, 4, 16, 16]\nlayers:\n  - Conv2d(4, 8, 3)\n"


def test_channels_last_linear_keeps_the_field():
    rows = field(CONV + "  - permute(0, 2, 3, 1)\n  - Linear(8, 8)\n  - permute(0, 3, 1, 2)\n"
                        "  - Conv2d(8, 8, 3)\n")
    assert rows == [(False, (3, 3)), (False, (3, 3)), (False, (3, 3)), (False, (3, 3)), (False, (5, 5))]


def test_a_linear_over_a_spatial_dim_is_global():
    rows = field(CONV + "  - Linear(14, 5)\n")
    assert rows[-1] == (True, ())


def test_flattening_spatial_dims_is_global_but_channels_are_not():
    assert field(CONV + "  - Flatten(2)\n")[-1] == (True, ())
    assert field(CONV + "  - Unflatten(1, (2, 4))\n")[-1] == (False, (3, 3))


def test_a_permuted_field_is_not_a_window_field():
    """A window after a permutation that moved the field's axes has no comparable field."""
    rows = field(CONV + "  - transpose(1, 2)\n  - Conv2d(14, 4, 3)\n")
    assert rows[-1] == (True, ())


@pytest.mark.parametrize("op", ["x.mean((2, 3))", "x.flatten(2)", "x.reshape(1, 8, -1)"])
def test_merging_or_reducing_spatial_dims_is_global(op):
    text = ("input: [1, 4, 16, 16]\nlayers:\n  - Conv2d(4, 8, 3)\n"
            f"  - \"{op.replace('x.', '_.')}\"\n")
    assert field(text)[-1] == (True, ())
