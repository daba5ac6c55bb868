import numpy as np
import pytest

from transferkit.exceptions import DataError
from transferkit.zeroshot import (
    calibrated_stacking,
    center_scores,
    class_accuracies,
    gzsl_evaluate,
    harmonic_mean,
    per_class_accuracy,
    seen_unseen_curve,
    select_calibration_gamma,
)


def test_per_class_accuracy_averages_classes_not_samples():
    # class 0: 3 of 4 right; class 1: 1 of 1 right -> (0.75 + 1) / 2, not 4/5
    y = np.array([0, 0, 0, 0, 1])
    pred = np.array([0, 0, 0, 1, 1])
    assert per_class_accuracy(y, pred) == pytest.approx(0.875)
    assert np.mean(y == pred) == pytest.approx(0.8)
    assert class_accuracies(y, pred) == {0: 0.75, 1: 1.0}
    assert class_accuracies(y, pred, classes=[1]) == {1: 1.0}
    with pytest.raises(DataError, match=r"classes \[2\] have no samples"):
        class_accuracies(y, pred, classes=[0, 2])


def test_harmonic_mean_and_its_zero_cases():
    assert harmonic_mean(0.5, 0.25) == pytest.approx(2 * 0.5 * 0.25 / 0.75)
    assert harmonic_mean(0.0, 0.9) == 0.0
    assert harmonic_mean(0.9, 0.0) == 0.0
    assert harmonic_mean(0.0, 0.0) == 0.0


def _crafted():
    # classes 0, 1 seen; 2, 3 unseen. Scores over the 4 classes.
    y = np.array([0, 0, 1, 2, 2, 3])
    F = np.array([
        [5.0, 1.0, 0.0, 0.0],  # seen 0, right
        [1.0, 5.0, 0.0, 0.0],  # seen 0, predicted 1
        [0.0, 5.0, 4.0, 0.0],  # seen 1, right (margin 1 over the best unseen)
        [3.0, 0.0, 2.5, 0.0],  # unseen 2, lost to seen 0 by 0.5; right among unseen
        [3.0, 0.0, 1.0, 2.0],  # unseen 2, wrong among unseen too (3 wins)
        [4.0, 0.0, 0.0, 1.0],  # unseen 3, lost to seen by 3; right among unseen
    ])
    return F, y, np.array([0, 1]), np.array([2, 3])


def test_gzsl_u_zero_when_every_sample_goes_to_a_seen_class():
    F, y, seen, unseen = _crafted()
    r = gzsl_evaluate(F, y, seen, unseen)
    # s: class 0 1/2, class 1 1/1 -> 0.75; u: nothing predicted unseen -> 0
    assert (r.u, r.s, r.h) == (0.0, pytest.approx(0.75), 0.0)
    # gamma = 2 (seen columns minus 2), by hand, row by row:
    #   [3,-1,0,0] -> 0 right; [-1,3,0,0] -> 1 wrong        => class 0: 1/2
    #   [-2,3,4,0] -> 2 wrong                              => class 1: 0     => s = 0.25
    #   [1,-2,2.5,0] -> 2 right; [1,-2,1,2] -> 3 wrong      => class 2: 1/2
    #   [2,-2,0,1] -> 0 wrong                              => class 3: 0     => u = 0.25
    r2 = gzsl_evaluate(F, y, seen, unseen, gamma=2.0)
    assert (r2.u, r2.s) == (pytest.approx(0.25), pytest.approx(0.25))
    assert r2.h == pytest.approx(0.25)
    np.testing.assert_allclose(calibrated_stacking(F, seen, 2.0)[:, :2], F[:, :2] - 2.0)
    np.testing.assert_allclose(calibrated_stacking(F, seen, 2.0)[:, 2:], F[:, 2:])


def _h_by_brute_force(F, y, seen, unseen, gammas):
    return np.array([gzsl_evaluate(F, y, seen, unseen, gamma=g).h for g in gammas])


def test_curve_matches_gzsl_evaluate_at_every_point():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, 80)
    F = rng.normal(size=(80, 6)) + 2.0 * np.eye(6)[y]
    seen, unseen = np.arange(4), np.arange(4, 6)
    curve = seen_unseen_curve(F, y, seen, unseen)
    for g, s, u in zip(curve.gammas, curve.acc_seen, curve.acc_unseen):
        r = gzsl_evaluate(F, y, seen, unseen, gamma=g)
        assert (r.s, r.u) == (pytest.approx(s), pytest.approx(u))
    assert curve.acc_unseen[0] == 0.0 and curve.acc_seen[-1] == 0.0
    # the ends: every sample seen = seen-only accuracy; every sample unseen = unseen-only accuracy
    seen_mask = np.isin(y, seen)
    assert curve.acc_seen[0] == pytest.approx(per_class_accuracy(y[seen_mask], np.argmax(F[seen_mask][:, :4], 1)))
    assert curve.acc_unseen[-1] == pytest.approx(per_class_accuracy(y[~seen_mask], 4 + np.argmax(F[~seen_mask][:, 4:], 1)))
    assert 0.0 < curve.ausuc < curve.acc_seen[0] * curve.acc_unseen[-1] + 1e-12


def test_gamma_is_chosen_on_validation_data_only():
    rng = np.random.default_rng(1)
    seen, unseen = np.arange(4), np.arange(4, 6)

    def scores(n, bias):  # seen classes get `bias` more score: a different best gamma per set
        y = rng.integers(0, 6, n)
        F = rng.normal(size=(n, 6)) + 2.5 * np.eye(6)[y]
        F[:, :4] += bias
        return F, y

    F_val, y_val = scores(300, 1.0)
    F_test, y_test = scores(300, 3.0)
    gamma = select_calibration_gamma(F_val, y_val, seen, unseen)
    grid = np.linspace(-2, 6, 401)
    h_val = _h_by_brute_force(F_val, y_val, seen, unseen, grid)
    # the chosen gamma is optimal on validation (no grid point beats it) ...
    assert gzsl_evaluate(F_val, y_val, seen, unseen, gamma=gamma).h >= h_val.max() - 1e-12
    # ... it does not move when the test data changes, and it is not the test optimum
    assert select_calibration_gamma(F_val, y_val, seen, unseen) == gamma
    h_test = _h_by_brute_force(F_test, y_test, seen, unseen, grid)
    assert abs(grid[np.argmax(h_test)] - gamma) > 1.0
    # calibration helps on test data drawn like validation data
    F_v2, y_v2 = scores(300, 1.0)
    assert gzsl_evaluate(F_v2, y_v2, seen, unseen, gamma=gamma).h > gzsl_evaluate(F_v2, y_v2, seen, unseen).h


def test_center_scores_subtracts_class_means_of_the_reference():
    R = np.array([[1.0, 4.0], [3.0, 0.0]])
    np.testing.assert_allclose(center_scores(np.array([[2.0, 2.0]]), R), [[0.0, 0.0]])


def test_metric_errors_name_the_problem():
    F, y, seen, unseen = _crafted()
    with pytest.raises(DataError, match=r"classes \[1\] are both seen and unseen"):
        gzsl_evaluate(F, y, seen, np.array([1, 2, 3]))
    with pytest.raises(DataError, match="no test samples of unseen classes"):
        gzsl_evaluate(F[:3], y[:3], seen, unseen)
    with pytest.raises(DataError, match="not among the candidate classes"):
        gzsl_evaluate(F[:, :3], y, seen, unseen)
