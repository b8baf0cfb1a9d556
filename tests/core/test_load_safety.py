"""Malicious and broken model files: every one is refused with ``ValueError`` saying the file is
not a valid model, nothing in a file runs, and saving never leaves a temporary file behind."""

import copy
import hashlib
import io
import os
import threading

import numpy as np
import pytest
import torch

import kan_widgets as kw
import kan_widgets.core.functions as F
from kan_widgets import KAN
from kan_widgets.core.io import MAGIC
from kan_widgets.core.state_check import InvalidModelError

INVALID = "not a valid kan_widgets model"


@pytest.fixture(scope="module")
def state(fitted):
    m = fitted.copy().fix_symbolic((0, 1, 0), "sin").fix_symbolic((1, 2, 0), "x^2")
    m.variables_ = ["x", "y"]
    return m.state()


def write(path, st, checksum=True):
    """A file as ``save`` writes it (valid checksum), holding the state ``st``."""
    buf = io.BytesIO()
    torch.save(st, buf)
    data = buf.getvalue()
    if checksum:
        data = MAGIC + hashlib.sha256(data).hexdigest().encode() + b"\n" + data
    path.write_bytes(data)
    return path


def refused(path, match=INVALID):
    with pytest.raises(ValueError, match=match) as info:
        KAN.load(path)
    return info.value


def test_round_trip_and_files_without_a_checksum_still_load(state, tmp_path, toy):
    m = KAN.from_state(state)
    back = KAN.load(m.save(tmp_path / "m.kan"))
    assert torch.equal(back.predict(toy.X_test), m.predict(toy.X_test))
    legacy = KAN.load(write(tmp_path / "old.kan", state, checksum=False))
    assert torch.equal(legacy.predict(toy.X_test), m.predict(toy.X_test))


def test_truncated_files_are_refused(state, tmp_path):
    data = KAN.from_state(state).save(tmp_path / "m.kan")
    data = open(data, "rb").read()
    for n in (0, 5, len(MAGIC) + 10, len(MAGIC) + 65, len(data) // 3, len(data) - 1):
        p = tmp_path / f"cut{n}.kan"
        p.write_bytes(data[:n])
        refused(p)


def test_every_random_byte_flip_is_refused(state, tmp_path):
    path = KAN.from_state(state).save(tmp_path / "m.kan")
    data = bytearray(open(path, "rb").read())
    rng = np.random.default_rng(0)
    for n, pos in enumerate(rng.integers(0, len(data), 40)):
        bad = bytearray(data)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        p = tmp_path / f"flip{n}.kan"
        p.write_bytes(bytes(bad))
        refused(p)


def _mutations(st):
    """(label, mutated state) pairs: missing and extra keys, wrong dtypes, non-tensor values,
    huge shapes."""
    sd = st["state_dict"]
    out = [(f"no {k}", {kk: v for kk, v in st.items() if kk != k}) for k in st]
    out += [(f"no {k}", {**st, "state_dict": {kk: v for kk, v in sd.items() if kk != k}})
            for k in ("layers.0.coef", "layers.1.knots", "layers.1._extra_state")]
    out += [
        ("extra key", {**st, "evil": 1}),
        ("extra tensor", {**st, "state_dict": {**sd, "layers.9.coef": torch.zeros(1)}}),
        ("float16 coef", {**st, "state_dict": {**sd, "layers.1.coef": sd["layers.1.coef"].half()}}),
        ("float mask flags", {**st, "state_dict": {**sd, "layers.0.symbolic": sd["layers.0.mask"]}}),
        ("int mask", {**st, "state_dict": {**sd, "layers.0.mask": sd["layers.0.mask"].long()}}),
        ("mask of 2s", {**st, "state_dict": {**sd, "layers.0.mask": sd["layers.0.mask"] * 2}}),
        ("NaN coef", {**st, "state_dict": {**sd, "layers.0.coef": sd["layers.0.coef"] * np.nan}}),
        ("list coef", {**st, "state_dict": {**sd, "layers.0.coef": sd["layers.0.coef"].tolist()}}),
        ("str width", {**st, "width": "2,5,1"}),
        ("float width", {**st, "width": [2.0, 5, 1]}),
        ("str grid", {**st, "config": {**st["config"], "grid": "5"}}),
        ("unknown config", {**st, "config": {**st["config"], "exec": "x"}}),
        ("str history", {**st, "history": {"step": ["a"]}}),
        ("ragged history", {**st, "history": {"step": [1, 2], "reg": [0.0]}}),
        ("list X_fit", {**st, "X_fit": [[0.0, 0.0]]}),
        ("X_fit columns", {**st, "X_fit": torch.zeros(4, 3)}),
        ("variables count", {**st, "variables": ["x"]}),
        ("variables twice", {**st, "variables": ["x", "x"]}),
        ("fit fields", {**st, "symbolic_fits": [[[0, 1, 0], {"name": "sin"}]]}),
        ("fit edge", {**st, "symbolic_fits": [[[7, 0, 0], st["symbolic_fits"][0][1]]]}),
        ("sym edge", {**st, "state_dict": {**sd, "layers.0._extra_state":
                                           {"sym_names": [[9, 0, "sin"]]}}}),
        ("unknown function", {**st, "state_dict": {**sd, "layers.0._extra_state":
                                                   {"sym_names": [[0, 0, "nope"]]}}}),
        ("huge width", {**st, "width": [10**6, 10**6, 1]}),
        ("huge grid", {**st, "grids": [10**7, 5]}),
        ("memory", {**st, "width": [1000, 1000, 1000], "grids": [100000, 5]}),
        ("grids count", {**st, "grids": [5]}),
        ("not a dict", [1, 2, 3]),
        ("format", {**st, "format": "kan_widgets.KAN/999"}),
        ("decreasing knots", {**st, "state_dict": {**sd, "layers.0.knots":
                                                   sd["layers.0.knots"].flip(1)}}),
    ]
    return out


def test_crafted_files_are_refused_with_a_clear_error(state, tmp_path):
    for n, (label, st) in enumerate(_mutations(state)):
        err = refused(write(tmp_path / f"c{n}.kan", st))
        assert type(err) is InvalidModelError, label
        with pytest.raises(ValueError, match=INVALID):  # the in-memory path too
            KAN([2, 5, 1]).load_state(st)


CODE = "__import__('os').system('touch {sentinel}')"


def _code_everywhere(st, code):
    sd = st["state_dict"]
    fit = st["symbolic_fits"][0]
    return [
        ("format", {**st, "format": code}),
        ("base_fun", {**st, "config": {**st["config"], "base_fun": code}}),
        ("history key", {**st, "history": {code: []}}),
        ("function name", {**st, "user_functions": [{"name": code, "sympy_def": "x",
                                                     "complexity": 2}]}),
        ("sympy_def", {**st, "user_functions": [{"name": "evil_fn", "sympy_def": code + " + x",
                                                 "complexity": 2}]}),
        ("sym name", {**st, "state_dict": {**sd, "layers.0._extra_state":
                                           {"sym_names": [[0, 0, code]]}}}),
        ("fit name", {**st, "symbolic_fits": [[fit[0], {**fit[1], "name": code}]]}),
    ]


def test_code_in_any_string_field_never_runs_and_is_refused(state, tmp_path):
    sentinel = tmp_path / "PWNED"
    code = CODE.format(sentinel=sentinel)
    names = list(F.LIBRARY)
    for n, (label, st) in enumerate(_code_everywhere(state, code)):
        err = refused(write(tmp_path / f"code{n}.kan", st))
        assert isinstance(err, ValueError), label
        assert not sentinel.exists(), f"code in {label} ran"
        assert list(F.LIBRARY) == names, label


def test_names_that_look_like_code_are_kept_as_text_and_never_run(state, tmp_path):
    # input and output names are labels: a target named after its formula must load (undo
    # and save/load of a model fitted on datasets.from_formula use this), and nothing runs
    sentinel = tmp_path / "PWNED"
    code = CODE.format(sentinel=sentinel)
    st = {**state, "variables": [code, "exp(y**2+sin(pi*x))"], "output_names": [code]}
    model = KAN.load(write(tmp_path / "names.kan", st))
    assert model.variables_ == [code, "exp(y**2+sin(pi*x))"]
    assert model.output_names_ == [code]
    assert not sentinel.exists()


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED_PICKLE",))


def test_pickled_objects_are_refused(state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(write(tmp_path / "p.kan", {**state, "history": _Evil()}))
    refused(write(tmp_path / "q.kan", _Evil(), checksum=False))
    assert not (tmp_path / "PWNED_PICKLE").exists()


@pytest.fixture
def cube():
    kw.register_function("cube_safety", sympy_fn="x**3")
    yield "cube_safety"
    F.unregister_function("cube_safety")


def test_loading_never_redefines_a_function_a_live_model_uses(cube, tmp_path, toy):
    live = KAN([2, 1], seed=0).fix_symbolic((0, 0, 0), cube, fit=False)
    out = live.predict(toy.X_test)
    other = KAN([2, 1], seed=1).fix_symbolic((0, 1, 0), cube, fit=False).state()
    other["user_functions"] = [{"name": cube, "sympy_def": "x**5", "complexity": 3}]
    with pytest.raises(ValueError, match=r"already registered here as 'x\*\*3'.*unregister"):
        KAN.load(write(tmp_path / "other.kan", other))
    assert F.get_function(cube).sympy_def == "x**3"
    assert torch.equal(live.predict(toy.X_test), out)
    same = copy.deepcopy(other)
    same["user_functions"][0]["sympy_def"] = "x**3"  # the same definition loads
    KAN.load(write(tmp_path / "same.kan", same))


def test_a_failed_save_leaves_no_temporary_file(fitted, tmp_path, monkeypatch):
    target = tmp_path / "m.kan"
    fitted.save(target)
    good = target.read_bytes()

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        fitted.copy().prune_edge((0, 0, 0)).save(target)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.kan"]
    assert target.read_bytes() == good  # the previous file is intact
    with pytest.raises(OSError):
        fitted.save(tmp_path / "no_such_dir" / "m.kan")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.kan"]


def test_threads_saving_to_one_path_do_not_share_a_temporary_file(fitted, tmp_path, toy):
    target = tmp_path / "m.kan"
    models = [fitted.copy(), fitted.copy().prune_edge((0, 0, 0))]
    errors = []

    def run(m):
        try:
            for _ in range(8):
                m.save(target)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(m,)) for m in models for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.kan"]
    out = KAN.load(target).predict(toy.X_test)
    assert any(torch.equal(out, m.predict(toy.X_test)) for m in models)
