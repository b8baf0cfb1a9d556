"""pykan's names for things ``KAN`` spells differently: an attribute error that names what to
use instead, so a pykan user is never left guessing (``KAN.__getattr__``, ``KAN.train``)."""

from __future__ import annotations

__all__ = ["PYKAN_NAMES", "missing_attribute", "train_hint"]

PYKAN_NAMES = {
    "update_grid_from_samples": "model.update_grid(X)",
    "initialize_grid_from_another_model": "model.refine(grid) (grid extension keeps the curves)",
    "saveckpt": "model.save(path)",
    "loadckpt": "KAN.load(path)",
    "ckpt": "model.save(path) and KAN.load(path), or model.state() / model.load_state(state) "
            "in memory (kan_widgets keeps no automatic checkpoints)",
    "rewind": "model.load_state(state) with a state you kept (model.state())",
    "checkout": "model.load_state(state) with a state you kept (model.state())",
    "get_act": "model.activations(X)",
    "symbolic_formula": "kan_widgets.formula(model)",
    "remove_edge": "model.prune_edge(edge)",
    "remove_node": "model.prune_node(layer, index)",
    "feature_score": "model.attribute(X); the scores are then in model.node_scores_[0]",
    "evaluate": "model.score(X, y) (the RMSE)",
    "speed": "nothing: the fast path is always on",
    "set_mode": "model.fix_symbolic(edge, name) / model.unfix_symbolic(edge)",
}


def missing_attribute(cls_name: str, name: str) -> AttributeError:
    """The AttributeError for ``name``; with a pointer when it is one of pykan's names."""
    hint = PYKAN_NAMES.get(name)
    if hint is None:
        return AttributeError(f"{cls_name!r} object has no attribute {name!r}")
    return AttributeError(f"{cls_name!r} object has no attribute {name!r} (that is pykan's "
                          f"name); here use {hint}")


def train_hint() -> TypeError:
    return TypeError("model.train(...) is torch's training-mode switch (model.train(True) / "
                     "model.train(False)); to train on data, pykan's model.train(dataset, ...) is "
                     "model.fit(dataset, steps=..., opt='LBFGS') here")
