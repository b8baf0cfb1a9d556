"""The safe formula reader: whitelisted syntax only, never evaluated, bounded in time."""

import time

import pytest
import sympy as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kan_widgets as kw
from kan_widgets import KAN, datasets
from kan_widgets.core import functions as F
from kan_widgets.symbolic.parse import FUNCTIONS, as_expression, parse_formula

x, y = sp.symbols("x y")


def test_reads_numbers_names_operators_and_functions():
    assert parse_formula("exp(sin(pi*x) + y**2)") == sp.exp(sp.sin(sp.pi * x) + y**2)
    assert parse_formula("x**(3/2) - -x/4 + E") == x ** sp.Rational(3, 2) + x / 4 + sp.E
    assert parse_formula("log(x, 2) + atan2(y, x) + abs(x)") == \
        sp.log(x, 2) + sp.atan2(y, x) + sp.Abs(x)
    assert parse_formula("x^2", caret_power=True) == x**2
    assert parse_formula("0.1*x") == sp.Float("0.1") * x
    s = sp.Symbol("s", positive=True)
    assert parse_formula("s + 1", variables=[s]) == s + 1  # given Symbols are used as given
    assert parse_formula("+".join(["x"] * 400)) == 400 * x  # long sums cost no depth


@pytest.mark.parametrize("text, part", [
    ("__import__('os').system('echo hi') + x", "__import__('os').system"),
    ("x.real", "x.real"),
    ("x[0]", "x[0]"),
    ("(lambda: 1)()", "lambda: 1"),
    ("[i for i in (1, 2)]", "[i for i in (1, 2)]"),
    ("'text'", "'text'"),
    ("sin(x, k=1)", "k=1"),
    ("x if y else 1", "x if y else 1"),
    ("x < y", "x < y"),
    ("x ^ 2", "x ^ 2"),
    ("open(x)", "open"),
    ("sin", "sin"),
    ("True + x", "True"),
    ("1j*x", "1j"),
    ("sin(*x)", "sin(*x)"),
    ("sin(x, y)", "sin(x, y)"),
    ("x/0", "0"),
])
def test_refuses_what_is_not_a_formula_naming_the_part(text, part):
    with pytest.raises(ValueError, match="column") as info:
        parse_formula(text)
    assert repr(part) in str(info.value)


def test_refuses_names_outside_the_variables_and_non_finite_or_complex_results():
    with pytest.raises(ValueError, match="unknown name.*allowed variables: x"):
        parse_formula("x + y", variables=["x"])
    with pytest.raises(ValueError, match="not finite"):
        parse_formula("log(0) + x")
    with pytest.raises(ValueError, match="imaginary"):
        parse_formula("sqrt(-1)*x")
    with pytest.raises(TypeError, match="str"):
        parse_formula(b"x")


@pytest.mark.parametrize("text", ["9**9**9", "x" * 100_000, "(2**4000*x)**1000",
                                  "((2**1000)**1000)**1000", "-" * 9000 + "x", "(" * 500 + "x" + ")" * 500,
                                  "x**(10**9)", "sin(" * 200 + "x" + ")" * 200, "9" * 5000])
def test_huge_inputs_are_refused_quickly(text):
    t = time.perf_counter()
    with pytest.raises(ValueError):
        parse_formula(text)
    assert time.perf_counter() - t < 1.0


MALICIOUS = "__import__('os').system('touch {path}') + x"


def test_from_formula_and_register_function_run_no_code(tmp_path):
    flag = tmp_path / "pwned"
    with pytest.raises(ValueError, match="only plain function names"):
        datasets.from_formula(MALICIOUS.format(path=flag))
    with pytest.raises(ValueError, match="only plain function names"):
        kw.register_function("evil", sympy_fn=MALICIOUS.format(path=flag))
    assert not flag.exists() and "evil" not in F.LIBRARY


def test_loading_a_model_whose_user_function_carries_code_runs_nothing(tmp_path):
    flag = tmp_path / "pwned"
    kw.register_function("sinsq_evil", sympy_fn="sin(x)**2")
    try:
        model = KAN([1, 1], seed=0)
        model.fix_symbolic((0, 0, 0), "sinsq_evil", fit=False)
        st_ = model.state()
        (d,) = [d for d in st_["user_functions"] if d["name"] == "sinsq_evil"]
        d["sympy_def"] = MALICIOUS.format(path=flag)
        path = tmp_path / "evil.kan"
        torch.save(st_, path)
        F.unregister_function("sinsq_evil")  # as in a fresh session
        with pytest.raises(ValueError, match="only plain function names"):
            KAN.load(path)
        assert not flag.exists() and "sinsq_evil" not in F.LIBRARY
    finally:
        if "sinsq_evil" in F.LIBRARY:
            F.unregister_function("sinsq_evil")


def test_as_expression_takes_expressions_numbers_and_text_only():
    assert as_expression(x + 1) == x + 1
    assert as_expression(2) == 2 and as_expression(0.5) == sp.Float(0.5)
    assert as_expression("x + y") == x + y
    with pytest.raises(TypeError):
        as_expression([x])
    with pytest.raises(ValueError, match="attribute"):
        kw.latex("x.__class__")


# ----------------------------------------------------------------------------- properties
_ONE_ARG = sorted(n for n, (_, ar) in FUNCTIONS.items() if ar == (1,))
_leaves = st.one_of(
    st.sampled_from([x, y, sp.pi, sp.E]),
    st.integers(-50, 50).map(sp.Integer),
    st.tuples(st.integers(-20, 20), st.integers(1, 12)).map(lambda t: sp.Rational(*t)),
    # decimal floats of a few digits: sstr prints 15 significant digits, exact for these
    st.tuples(st.integers(-10**6, 10**6), st.integers(0, 8)).map(
        lambda t: sp.Float(f"{t[0]}e-{t[1]}")),
)


def _extend(children):
    exps = st.one_of(st.integers(-4, 4).map(sp.Integer),
                     st.sampled_from([sp.Rational(1, 2), sp.Rational(3, 2), sp.Rational(-1, 3)]))
    return st.one_of(
        st.tuples(children, children).map(lambda t: t[0] + t[1]),
        st.tuples(children, children).map(lambda t: t[0] * t[1]),
        st.tuples(children, children).map(lambda t: t[0] - t[1]),
        st.tuples(children, exps).map(lambda t: t[0] ** t[1]),
        st.tuples(st.sampled_from(_ONE_ARG), children).map(lambda t: FUNCTIONS[t[0]][0](t[1])),
    )


_exprs = st.recursive(_leaves, _extend, max_leaves=12)
_SETTINGS = settings(max_examples=150, derandomize=True, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_exprs)
def test_printed_expressions_read_back_equal(expr):
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I):
        return  # not a real finite formula: refused by design (tested above)
    back = parse_formula(sp.sstr(expr))
    if expr.atoms(sp.Float):  # printed with 15 digits: the text is a fixed point
        assert sp.sstr(back) == sp.sstr(expr)
    else:
        assert back == expr


_junk = st.one_of(
    st.text(alphabet="xy0123456789.+-*/^()_ ,eEpisnqrtloabc'\"[]{}:=<>!@#%&|~`\\\n", max_size=60),
    st.text(max_size=40),
    st.lists(st.sampled_from(["x", "y", "+", "-", "*", "/", "**", "(", ")", "sin(", "exp(",
                              "log(", "1", "2.5", "pi", ",", "__import__", ".", "[", "]",
                              "lambda", "9", "e9", "1e308"]), max_size=30).map("".join),
)


@_SETTINGS
@given(_junk)
def test_junk_text_is_read_or_refused_with_value_error(text):
    try:
        out = parse_formula(text)
    except ValueError:
        return
    assert isinstance(out, sp.Basic)


def test_export_reads_text_with_the_safe_reader(tmp_path):
    import numpy as np

    from kan_widgets.symbolic import to_callable, to_source

    f = to_callable("x**2 + sin(y)", variables=["x", "y"])
    np.testing.assert_allclose(f(np.array([[2.0, 0.0]])), [4.0])
    flag = tmp_path / "pwned"
    for export in (to_callable, to_source):
        with pytest.raises(ValueError, match="only plain function names"):
            export(MALICIOUS.format(path=flag))
    assert not flag.exists()
