import numpy as np
import pytest

from beamopt.beampattern import angle_grid, check_sector, desired_pattern, random_sectors


def test_desired_pattern_matches_a_loop():
    grid = angle_grid(181)  # 1 degree steps
    b = desired_pattern(grid, [(-40.0, -20.0), (30.0, 50.0)])
    for row, (lo, hi) in zip(b, [(-40, -20), (30, 50)]):
        expect = [1.0 if lo - 1e-9 <= np.rad2deg(t) <= hi + 1e-9 else 0.0 for t in grid]
        np.testing.assert_array_equal(row, expect)
        assert row.sum() == 21


@pytest.mark.parametrize(
    "bad, why",
    [((10.0, 10.0), "empty"), ((20.0, 10.0), "reversed"), ((-95.0, 0.0), r"\[-90, 90\]"),
     ((0.0, 91.0), r"\[-90, 90\]"), ((1.0, 2.0, 3.0), "shape")],
)  # fmt: skip
def test_bad_sectors_raise_naming_the_argument(bad, why):
    with pytest.raises(ValueError, match=f"sector_deg.*{why}|{why}.*sector_deg|sector_deg must"):
        check_sector(bad)


def test_sector_without_grid_point_raises():
    with pytest.raises(ValueError, match="sector_deg"):
        desired_pattern(angle_grid(3), (10.0, 20.0))


def test_random_sectors_follow_the_prior():
    s = random_sectors(2000, rng=1)
    mean, span = s.mean(-1), s[:, 1] - s[:, 0]
    assert -60 <= mean.min() and mean.max() <= 60
    assert 10 <= span.min() and span.max() <= 20
    np.testing.assert_array_equal(s, random_sectors(2000, rng=1))


@pytest.mark.parametrize("radians", [(-0.698, -0.349), (-np.pi / 2, np.pi / 2), (0.0, 0.35)])
def test_a_sector_in_radians_raises(radians):
    with pytest.raises(ValueError, match=r"sector_deg=.* lies within ±pi/2.*looks like radians"):
        check_sector(radians)


def test_degree_sectors_past_broadside_margin_and_stacks_pass():
    np.testing.assert_array_equal(check_sector((-2.0, 2.0)), [-2.0, 2.0])
    # stacks of (generated) sectors are not second-guessed
    assert check_sector([(-0.5, 0.5), (10.0, 20.0)]).shape == (2, 2)
