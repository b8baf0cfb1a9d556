"""The continual-learning demo: the KAN keeps the earlier peaks, the MLP forgets them; every
button has its twin; bad settings are refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

import kan_widgets as kw
from kan_widgets.explore.teaching_continual import ContinualLearningState

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def trained():
    """A small run of every phase (3 peaks, coarse settings: seconds, not minutes)."""
    return kw.ContinualLearningDemo(n_peaks=3, grid=60, mlp_width=16, steps=10,
                                    n_per_phase=80).run()


def test_kan_keeps_the_earlier_peaks_and_the_mlp_forgets_them(trained):
    rows = trained.results_
    assert [r["phase"] for r in rows] == [1, 2, 3]
    assert math.isnan(rows[0]["kan_old_rmse"]) and math.isnan(rows[0]["mlp_old_rmse"])
    for r in rows:
        assert r["kan_seen_rmse"] < 0.02  # a spline edge fits every region it has seen
    for r in rows[1:]:
        assert r["kan_old_rmse"] < 0.02
        assert r["mlp_old_rmse"] > 0.2  # fitting the new region moved the old one
        assert r["mlp_old_rmse"] > 10 * r["kan_old_rmse"]


def test_phases_train_on_their_region_only():
    s = ContinualLearningState(n_peaks=4, grid=40, mlp_width=8, steps=3, n_per_phase=40)
    assert [s.region(p) for p in (1, 4)] == [(-1.0, -0.5), (0.5, 1.0)]
    s.next_phase()
    # the KAN's grid stays on [-1, 1]: no grid update moved it onto the first region
    grid = s.kan_.layers[0].knots[0].numpy()
    assert grid[3] == pytest.approx(-1.0) and grid[-4] == pytest.approx(1.0)
    after_one = s.curves_[1]["kan"].copy()
    s.next_phase()
    # the KAN's curve right of the support of phase 2's basis functions (k + 1 = 4 intervals
    # of 0.05 past its region) is untouched by phase 2
    far = s.x > s.region(2)[1] + 4 * 0.05 + 0.01
    np.testing.assert_allclose(s.curves_[2]["kan"][far], after_one[far], rtol=0, atol=1e-12)
    near = (s.x > s.region(2)[0]) & (s.x < s.region(2)[1])
    assert np.abs(s.curves_[2]["kan"][near] - after_one[near]).max() > 0.3  # phase 2 learned


def test_buttons_and_their_twins(trained):
    demo = kw.ContinualLearningDemo(n_peaks=2, grid=30, mlp_width=8, steps=3, n_per_phase=40)
    view = demo.view
    assert WIDGET_MIME in demo._repr_mimebundle_()
    assert "Press Next phase" in view.status.value
    view.next_button.click()
    assert demo.phase == 1 and demo.shown == 1
    kan_trace = demo.figure.data[view.trace_index["KAN [1, 1]"]]
    np.testing.assert_allclose(kan_trace.y, demo.curves_[1]["kan"])
    assert len(demo.figure.layout.shapes) == 1
    view.all_button.click()
    assert demo.phase == 2 and view.next_button.disabled and view.all_button.disabled
    assert "kw-continual-table" in view.table.value and view.table.value.count("<tr>") == 3
    view.controls["show"].value = 1  # the slider is show(1)
    assert demo.shown == 1 and len(demo.figure.layout.shapes) == 1
    np.testing.assert_allclose(demo.figure.data[view.trace_index["KAN [1, 1]"]].y,
                               demo.curves_[1]["kan"])
    view.reset_button.click()
    assert demo.phase == 0 and demo.results_ == [] and not view.next_button.disabled


def test_refusals_are_clear():
    demo = kw.ContinualLearningDemo(n_peaks=1, grid=20, mlp_width=4, steps=2, n_per_phase=20)
    demo.next_phase()
    with pytest.raises(ValueError, match="reset"):
        demo.next_phase()
    with pytest.raises(ValueError, match="not trained"):
        demo.show(3)
    # a click past the end shows the reason in the status line instead of raising
    demo.view.next_button.disabled = False
    demo.view.next_button.click()
    assert "reset" in demo.view.status.value
    for bad in (dict(n_peaks=0), dict(peak_width=2.0), dict(grid=1.5), dict(steps=-1)):
        with pytest.raises((ValueError, TypeError)):
            ContinualLearningState(**bad)
