

def test_polish_keeps_the_expression_when_the_line_search_breaks(monkeypatch):
    # torch's strong-Wolfe search raises IndexError on a NaN bracket (seen in notebook 11)
    import sympy as sp
    import torch

    from kan_widgets.core.lbfgs import LBFGS
    from kan_widgets.discovery.polish import polish

    def broken(self, closure):
        closure()
        raise IndexError("list index out of range")

    monkeypatch.setattr(LBFGS, "step", broken)
    x = sp.Symbol("x")
    X = torch.linspace(0, 1, 50, dtype=torch.float64)[:, None]
    y = 2.0 * X[:, 0] + 1.0
    expr = sp.Float(1.9) * x + sp.Float(1.1)
    out, err = polish(expr, ["x"], X, y)
    assert out == expr and err > 0
