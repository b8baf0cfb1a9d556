"""Validation of a model state (``KAN.state()``, what ``save`` writes) before anything is built.

A model file is data. ``validate_state`` checks every field against the schema that ``state()``
produces: the exact top-level and state-dict keys, tensor types, dtypes and shapes (implied by
``width`` and the grid sizes, so a crafted file cannot make ``load`` allocate more than its
numbers say), finite values, plain numbers and strings where those belong, and the size of the
model against the available memory. Nothing in it is evaluated: function names must be known
or defined by the file's user functions (whose formula text only the safe formula reader
reads), and free-text names that read as Python code (a call, an attribute access) are refused.
Every failure is an ``InvalidModelError`` (a ``ValueError``) saying what is wrong.
"""

from __future__ import annotations

import ast
import math
import numbers
import re

import torch

from .functions import LIBRARY
from .layer import BASE_FUNCTIONS
from .mult import parse_mult_width
from .resources import check_size

__all__ = ["InvalidModelError", "validate_state", "STATE_KEYS"]

STATE_KEYS = {"format", "width", "config", "grids", "state_dict", "symbolic_fits",
              "user_functions", "history", "X_fit", "variables", "output_names"}
_OPTIONAL_KEYS = {"sym_names"}  # the first file format kept symbolic names there
_CONFIG = {"grid": "int", "k": "int", "seed": "int", "grid_range": "range", "grid_eps": "num",
           "base_fun": "base", "noise_scale": "num", "scale_base_mu": "num",
           "scale_base_sigma": "num", "affine_trainable": "bool",
           "sb_trainable": "bool", "sp_trainable": "bool", "mult_arity": "mult",
           "sparse_init": "bool"}
_FIT_FIELDS = ("name", "r2", "complexity", "a", "b", "c", "d")
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_MAX_WIDTH, _MAX_NAME = 1_000_000, 200
_FUNCTION_NAME = re.compile(r"^[\w^./+\-]{1,100}$")
_HISTORY_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class InvalidModelError(ValueError):
    """The data is not a valid kan_widgets model (``load`` and ``load_state`` refuse it)."""


def _fail(what: str):
    raise InvalidModelError(f"not a valid kan_widgets model: {what}")


def _int(v, what, low=None, high=None) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        _fail(f"{what} must be an int, got {type(v).__name__}")
    if (low is not None and v < low) or (high is not None and v > high):
        _fail(f"{what} = {v} is out of range")
    return int(v)


def _num(v, what) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        _fail(f"{what} must be a number, got {type(v).__name__}")
    return float(v)


def _list(v, what, n=None) -> list:
    if type(v) not in (list, tuple):
        _fail(f"{what} must be a list, got {type(v).__name__}")
    if n is not None and len(v) != n:
        _fail(f"{what} must have {n} entries, has {len(v)}")
    return list(v)


def _dict(v, what) -> dict:
    if type(v) is not dict:
        _fail(f"{what} must be a dict, got {type(v).__name__}")
    return v


def _reads_as_code(text: str) -> bool:
    """Whether ``text`` parses as a Python expression with a call, attribute, subscript,
    lambda or comprehension in it (ast only parses: nothing runs)."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return any(isinstance(n, (ast.Call, ast.Attribute, ast.Subscript, ast.Lambda,
                              ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp,
                              ast.NamedExpr, ast.Await))
               for n in ast.walk(tree))


def _label(v, what) -> str:
    """A name shown to people (an input or output name): any printable text. It is only ever
    displayed or used as a sympy Symbol's name, never evaluated, so a data set named after its
    formula (``exp(y**2+sin(pi*x))``, as ``datasets.from_formula`` names the target) loads."""
    if type(v) is not str:
        _fail(f"{what} must be a str, got {type(v).__name__}")
    if not v or len(v) > _MAX_NAME or not v.isprintable():
        _fail(f"{what} must be 1..{_MAX_NAME} printable characters, got {v[:40]!r}")
    return v


def _name(v, what) -> str:
    if type(v) is not str:
        _fail(f"{what} must be a str, got {type(v).__name__}")
    if not v or len(v) > _MAX_NAME or not v.isprintable():
        _fail(f"{what} must be 1..{_MAX_NAME} printable characters, got {v[:40]!r}")
    if _reads_as_code(v):
        _fail(f"{what} = {v[:60]!r} reads as Python code")
    return v


def _tensor(v, what, shape, dtype=None) -> torch.Tensor:
    if type(v) not in (torch.Tensor, torch.nn.Parameter):
        _fail(f"{what} must be a tensor, got {type(v).__name__}")
    if v.layout != torch.strided or v.is_quantized:
        _fail(f"{what} must be a dense tensor")
    if tuple(v.shape) != tuple(shape):
        _fail(f"{what} has shape {tuple(v.shape)}, expected {tuple(shape)}")
    if dtype is not None and v.dtype != dtype:
        _fail(f"{what} has dtype {v.dtype}, expected {dtype}")
    if v.is_floating_point() and not bool(torch.isfinite(v).all()):
        _fail(f"{what} holds NaN or inf")
    return v


def _function_names(st) -> set:
    defined = set(LIBRARY)
    for n, d in enumerate(_list(st["user_functions"], "user_functions")):
        d = _dict(d, f"user_functions[{n}]")
        if not set(d) <= {"name", "sympy_def", "complexity"} or "name" not in d:
            _fail(f"user_functions[{n}] has keys {sorted(map(str, d))}, expected name, "
                  "sympy_def, complexity")
        name = d["name"]
        if type(name) is not str or not _FUNCTION_NAME.match(name):
            _fail(f"user_functions[{n}].name = {str(name)[:60]!r} is not a function name "
                  "(letters, digits, _ ^ . / + -)")
        src = d.get("sympy_def")
        if src is not None and (type(src) is not str or len(src) > 10_000):
            _fail(f"user_functions[{n}].sympy_def must be formula text (a str)")
        _int(d.get("complexity", 3), f"user_functions[{n}].complexity", 0, 1000)
        defined.add(name)
    return defined


def _layer(sd, l, n_in, n_out, G, k, dtype, known):
    p = f"layers.{l}."
    shapes = {"coef": (n_in, n_out, G + k), "scale_base": (n_in, n_out),
              "scale_sp": (n_in, n_out), "sym_affine": (n_in, n_out, 4),
              "node_scale": (n_out,), "node_bias": (n_out,), "knots": (n_in, G + 2 * k + 1),
              "mask": (n_in, n_out)}
    for key, shape in shapes.items():
        _tensor(sd.get(p + key), p + key, shape, dtype)
    _tensor(sd.get(p + "symbolic"), p + "symbolic", (n_in, n_out), torch.bool)
    knots = sd[p + "knots"]
    if G > 0 and not bool((knots[:, 1:] >= knots[:, :-1]).all()):
        _fail(f"{p}knots are not increasing")
    mask = sd[p + "mask"]
    if not bool(((mask == 0) | (mask == 1)).all()):
        _fail(f"{p}mask holds values other than 0 and 1")
    extra = _dict(sd.get(p + "_extra_state"), p + "_extra_state")
    if set(extra) != {"sym_names"}:
        _fail(f"{p}_extra_state must hold only sym_names")
    for e in _list(extra["sym_names"], f"{p}_extra_state.sym_names"):
        i, j, f = _list(e, f"{p}_extra_state.sym_names entry", 3)
        _int(i, "a symbolic edge's source", 0, n_in - 1)
        _int(j, "a symbolic edge's target", 0, n_out - 1)
        if type(f) is not str or f not in known:
            _fail(f"{p}_extra_state names an unknown function {str(f)[:60]!r}")


def validate_state(st) -> None:
    """Raise ``InvalidModelError`` unless ``st`` is a model state as ``KAN.state()`` makes
    (see the module doc). Cheap: no copies, one finiteness scan per tensor."""
    from .io import FORMAT  # io imports this module

    st = _dict(st, "the file's content")
    if st.get("format") != FORMAT:
        _fail(f"format is {str(st.get('format'))[:60]!r}, expected {FORMAT!r}")
    keys = set(st)
    if not STATE_KEYS <= keys or not keys <= STATE_KEYS | _OPTIONAL_KEYS:
        missing, extra = STATE_KEYS - keys, keys - STATE_KEYS - _OPTIONAL_KEYS
        _fail(f"missing keys {sorted(missing)}, unexpected keys {sorted(map(str, extra))}")
    cfg = _dict(st["config"], "config")
    width, width_out = _widths(st["width"], cfg.get("mult_arity", 2))
    depth = len(width) - 1
    grids = [_int(g, "grid size", 1, 10**7) for g in _list(st["grids"], "grids", depth)]
    if not set(cfg) <= set(_CONFIG) or not {"k", "seed"} <= set(cfg):
        _fail(f"config keys {sorted(map(str, cfg))} are not those of a KAN")
    for key, kind in _CONFIG.items():
        if key not in cfg:
            continue
        v = cfg[key]
        if kind == "int":
            _int(v, f"config.{key}", 0 if key == "seed" else 1, 2**63 - 1)
        elif kind == "num" and not math.isfinite(_num(v, f"config.{key}")):
            _fail(f"config.{key} is not finite")
        elif kind == "range" and not all(math.isfinite(_num(x, "config.grid_range"))
                                         for x in _list(v, "config.grid_range", 2)):
            _fail("config.grid_range is not finite")
        elif kind == "base" and (type(v) is not str or v not in BASE_FUNCTIONS):
            _fail(f"config.base_fun must be one of {list(BASE_FUNCTIONS)}")
        elif kind == "bool" and type(v) is not bool:
            _fail(f"config.{key} must be a bool")
    k = int(cfg["k"])
    try:
        check_size(width_out, max(grids), k)
    except MemoryError as e:
        _fail(str(e))
    sd = _dict(st["state_dict"], "state_dict")
    coef = sd.get("layers.0.coef")
    dtype = coef.dtype if isinstance(coef, torch.Tensor) else None
    if dtype not in _FLOATS:
        _fail("layers.0.coef must be a floating tensor")
    expected = {f"layers.{l}.{n}" for l in range(depth)
                for n in ("coef", "scale_base", "scale_sp", "sym_affine", "node_scale",
                          "node_bias", "knots", "mask", "symbolic", "_extra_state")}
    if "sym_names" in st:  # first format: names beside the state dict
        expected -= {f"layers.{l}._extra_state" for l in range(depth)}
        sd = {**sd, **{f"layers.{l}._extra_state": {"sym_names": _list(names, "sym_names")}
                       for l, names in enumerate(_list(st["sym_names"], "sym_names", depth))}}
        expected |= {f"layers.{l}._extra_state" for l in range(depth)}
    if set(sd) != expected:
        _fail(f"state_dict keys: missing {sorted(expected - set(sd))[:5]}, unexpected "
              f"{sorted(map(str, set(sd) - expected))[:5]}")
    known = _function_names(st)
    for l in range(depth):
        _layer(sd, l, width[l], width_out[l + 1], grids[l], k, dtype, known)
    _rest(st, width, width_out, known, dtype)


def _widths(spec, mult_arity):
    """Node counts and sub-node counts per layer of a state's width (ints, or [n_sum, n_mult]
    with ``config.mult_arity``); bounded before anything is allocated."""
    spec = _list(spec, "width")
    if len(spec) < 2:
        _fail("width needs at least two entries")
    for w in spec:
        for v in (_list(w, "width entry", 2) if isinstance(w, (list, tuple)) else [w]):
            _int(v, "width entry", 0, _MAX_WIDTH)
    if not (isinstance(mult_arity, numbers.Integral) and not isinstance(mult_arity, bool)):
        for a in _list(mult_arity, "config.mult_arity", len(spec)):
            for v in (_list(a, "config.mult_arity entry") if isinstance(a, (list, tuple))
                      else [a]):
                _int(v, "config.mult_arity entry", 0, _MAX_WIDTH)
    try:
        layouts = parse_mult_width(spec, mult_arity)
    except (TypeError, ValueError) as e:
        _fail(f"width: {e}")
    width_out = [lay.n_sub for lay in layouts]
    if max(width_out) > _MAX_WIDTH:
        _fail(f"width has a layer of {max(width_out)} sub-nodes (at most {_MAX_WIDTH})")
    return [lay.n_nodes for lay in layouts], width_out


def _rest(st, width, width_out, known, dtype):
    for n, item in enumerate(_list(st["symbolic_fits"], "symbolic_fits")):
        edge, fit = _list(item, f"symbolic_fits[{n}]", 2)
        l, i, j = (_int(v, f"symbolic_fits[{n}] edge", 0) for v in _list(edge, "an edge", 3))
        if l >= len(width) - 1 or i >= width[l] or j >= width_out[l + 1]:
            _fail(f"symbolic_fits[{n}] names the edge {(l, i, j)}, not in the model")
        fit = _dict(fit, f"symbolic_fits[{n}]")
        if set(fit) != set(_FIT_FIELDS):
            _fail(f"symbolic_fits[{n}] must have the fields {_FIT_FIELDS}")
        if type(fit["name"]) is not str or fit["name"] not in known:
            _fail(f"symbolic_fits[{n}] names an unknown function {str(fit['name'])[:60]!r}")
        _int(fit["complexity"], f"symbolic_fits[{n}].complexity", 0)
        for f in ("r2", "a", "b", "c", "d"):
            _num(fit[f], f"symbolic_fits[{n}].{f}")
    hist = _dict(st["history"], "history")
    lengths = set()
    for key, values in hist.items():
        if type(key) is not str or not _HISTORY_KEY.match(key):
            _fail(f"history key {str(key)[:60]!r} is not a plain name")
        values = _list(values, f"history[{key!r}]")
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            _fail(f"history[{key!r}] must hold numbers")
        lengths.add(len(values))
    if len(lengths) > 1:
        _fail("history lists have different lengths")
    X = st["X_fit"]
    if X is not None:
        if type(X) is not torch.Tensor or X.ndim != 2:
            _fail("X_fit must be None or a 2-D tensor")
        _tensor(X, "X_fit", (X.shape[0], width[0]), dtype)
    for key, n in (("variables", width[0]), ("output_names", width[-1])):
        names = st[key]
        if names is not None:
            names = [_label(v, f"{key} entry") for v in _list(names, key, n)]
            if len(set(names)) != len(names):
                _fail(f"{key} are not distinct")
