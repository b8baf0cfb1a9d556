"""``StructureTree.plot``: the plotly figure of a structure tree."""

import torch

import kan_widgets as kw


def f(X):
    return X[:, 0] * X[:, 1] + torch.sin(X[:, 2])


def test_tree_plot_traces():
    X = torch.rand(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 4 - 2
    tree = kw.structure_tree(f, X,
                             names=["x", "y", "z"])
    fig = tree.plot()
    assert [t.name for t in fig.data] == ["links", "operations", "inputs"]
    assert tuple(fig.data[1].text) == ("+", "×") and tuple(fig.data[2].text) == ("x", "y", "z")
    links = [v for v in fig.data[0].x if v is not None]
    assert len(links) == 2 * 4  # four links, two ends each
    assert fig.layout.title.text == "structure: x * y + z"
