"""The undo history's memory: unchanged tensors shared between steps, a byte budget."""

from __future__ import annotations

import pytest
import torch

from kan_widgets import KAN
from kan_widgets.explore import Session
from kan_widgets.explore.history import Step, UndoHistory


def same_state(a: dict, b: dict) -> bool:
    """Two ``model.state()`` snapshots equal bit for bit (tensors compared as bytes)."""
    if a["grids"] != b["grids"] or a["state_dict"].keys() != b["state_dict"].keys():
        return False
    for k, v in a["state_dict"].items():
        w = b["state_dict"][k]
        if isinstance(v, torch.Tensor):
            if v.dtype != w.dtype or v.shape != w.shape:
                return False
            if v.is_floating_point():
                v, w = v.contiguous().view(torch.uint8), w.contiguous().view(torch.uint8)
            if not torch.equal(v, w):
                return False
        elif v != w:
            return False
    return a["symbolic_fits"] == b["symbolic_fits"] and a["history"] == b["history"]


def snapshot_bytes(model) -> int:
    """Bytes one full snapshot of ``model`` is counted as."""
    h = UndoHistory()
    h.push(Step("x", "x", 0.0, before=model.state()))
    return h.nbytes


@pytest.fixture(scope="module")
def wide(toy):
    """A [2, 24, 24, 1] KAN (about 10,000 coefficients) trained a few steps."""
    return KAN([2, 24, 24, 1], grid=5, k=3, seed=0).fit(toy, steps=3, progress=False)


def test_unchanged_tensors_are_shared_and_counted_once(wide, toy):
    s = Session(wide.copy(), toy)
    start = s.model.state()
    full = snapshot_bytes(s.model)
    edges = [(1, i, j) for i in range(24) for j in range(24)][:50]
    for e in edges:
        s.prune_edge(e)
    h = s.undo_history
    assert len(h) == 50 and h.forgotten == 0
    # 50 full copies would be 50 * full; each step only adds the mask it changed (a [24, 24]
    # float32 mask, 2.3 kB, against 51 kB for the whole model)
    assert full < h.nbytes < 4 * full, (h.nbytes, full)
    assert (h.nbytes - full) / 49 < full / 10
    first, second = h.done[0].before, h.done[1].before
    assert first["state_dict"]["layers.0.coef"] is second["state_dict"]["layers.0.coef"]
    assert first["history"]["train_loss"] is second["history"]["train_loss"]
    for _ in edges:
        s.undo()
    assert same_state(s.model.state(), start)  # nothing forgotten: back to the start exactly
    for _ in edges:
        s.redo()
    assert all(s.model.edge_mode(e) == "pruned" for e in edges)


def test_byte_budget_forgets_the_oldest_steps(wide, toy):
    full = snapshot_bytes(wide)
    budget = int(3.5 * full)
    s = Session(wide.copy(), toy, max_history_bytes=budget)
    befores = []
    for _ in range(8):  # training changes the coefficients and the log every step
        befores.append(s.model.state())
        s.model.fit(toy, steps=1, progress=False)
        s.poll()  # records the change as an undoable step
        assert s.undo_history.nbytes <= budget
    h = s.undo_history
    assert h.forgotten >= 2 and len(h) + h.forgotten == 8
    # a step costs at most one full snapshot (the coefficients and the growing training log
    # change; fixed buffers are shared), so at least 3 fit in 3.5 snapshots
    assert len(h) >= 3
    while s.can_undo:
        s.undo()
    # back to the oldest state still kept, bit for bit
    assert same_state(s.model.state(), befores[h.forgotten])
    assert not same_state(s.model.state(), befores[0])


def test_the_most_recent_step_is_always_kept(wide, toy):
    s = Session(wide.copy(), toy, max_history_bytes=0)
    start = s.model.state()
    s.prune_edge((0, 0, 0))
    s.prune_edge((0, 1, 0))
    assert len(s.undo_history) == 1 and s.undo_history.forgotten == 1
    s.undo()
    assert s.model.edge_mode((0, 0, 0)) == "pruned"
    assert s.model.edge_mode((0, 1, 0)) != "pruned"
    assert not s.can_undo and not same_state(s.model.state(), start)


def test_bad_budget_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="max_bytes"):
        UndoHistory(max_bytes=-1)
    with pytest.raises(ValueError, match="max_steps"):
        UndoHistory(max_steps=0)


def test_bitwise_sharing_tells_signed_zeros_and_nans_apart():
    a = {"state_dict": {"w": torch.tensor([0.0, float("nan")])}, "history": {}}
    b = {"state_dict": {"w": torch.tensor([-0.0, float("nan")])}, "history": {}}
    c = {"state_dict": {"w": torch.tensor([0.0, float("nan")])}, "history": {}}
    h = UndoHistory()
    for st in (a, b, c):
        h.push(Step("x", "x", 0.0, before=st))
    w = [s.before["state_dict"]["w"] for s in h.done]
    assert w[1] is not w[0]  # -0.0 is not 0.0 bit for bit
    assert w[2] is not w[1] and torch.signbit(w[2][0]).item() is False
    h.push(Step("x", "x", 0.0, before={"state_dict": {"w": w[2].clone()}, "history": {}}))
    assert h.done[-1].before["state_dict"]["w"] is w[2]  # NaN equals itself bitwise


def test_save_and_load_keep_the_budget_and_the_sharing(wide, toy, tmp_path):
    s = Session(wide.copy(), toy, max_history_bytes=40 * 2**20)
    for e in [(1, 0, 0), (1, 1, 0), (1, 2, 0)]:
        s.prune_edge(e)
    s.undo()
    s2 = Session.load(s.save(tmp_path / "budget"))
    assert s2.undo_history.max_bytes == 40 * 2**20
    assert s2.undo_history.nbytes == s.undo_history.nbytes
    assert same_state(s2.model.state(), s.model.state())
    s2.undo()
    s2.undo()
    s.undo()
    s.undo()
    assert same_state(s2.model.state(), s.model.state())
