"""What a ``Session`` answers without changing the model: losses, scores, the scene, an
edge's detail, suggestions, candidate previews and the formula. Results are cached until the
model changes (the session clears the cache; a change made outside the session is noticed
through ``model.version``)."""

from __future__ import annotations

from .scene import build_scene, edge_detail, fix_previews, formula_text
from .task import CLASSIFICATION, measure

__all__ = ["SessionQueries"]


class SessionQueries:
    """Reading verbs of ``Session`` (which supplies ``model``, the data, ``lock``, ``layout``,
    ``samples``, ``_edge``, ``_call`` and ``_cache``)."""

    def losses(self) -> tuple[float, float]:
        """(test, train) loss of the model now: the RMSE (``model.score``), or for a classifier
        the cross-entropy; test falls back to train, NaN without data."""
        return self._measured()[0]

    def accuracies(self) -> tuple[float, float]:
        """(test, train) accuracy of a classifier now (NaN for regression or without data)."""
        return self._measured()[1]

    def _measured(self):
        nan = float("nan")
        if self.X is None:
            return (nan, nan), (nan, nan)
        with self.lock:
            if self.task != CLASSIFICATION:
                train = self.model.score(self.X, self.y)
                test = train if self.X_test is None else self.model.score(self.X_test,
                                                                           self.y_test)
                return (test, train), (nan, nan)
            train = measure(self.model, self.X, self.y, self.task)
            test = train if self.X_test is None else measure(self.model, self.X_test,
                                                             self.y_test, self.task)
        return (test[0], train[0]), (test[1], train[1])

    def scores(self, fresh=False):
        """``model.attribution`` on the session's samples, kept in the session's cache (the
        model is not written); None without samples. ``fresh`` recomputes."""
        if self.samples is None:
            return None
        with self.lock:
            if fresh:
                self._cache.pop(("scores",), None)
            return self._cached(("scores",), lambda: self.model.attribution(self.samples)[0])

    def scene(self, n_points=24, fresh_scores=False):
        """The network drawn as plain numbers (``explore.scene.NetworkScene``).

        ``fresh_scores`` recomputes the attribution scores first (live frames while training,
        when the model moved but its scores were not reset yet)."""
        with self.lock:
            return build_scene(self.model, self.layout, n_points=n_points,
                               scores=self.scores(fresh=fresh_scores))

    def edge_detail(self, edge=None):
        """The selected (or given) edge, large, with its samples (``EdgeDetail``)."""
        e = self._edge(edge)
        with self.lock:
            return self._cached(("detail", e), lambda: edge_detail(
                self.model, e, self.samples, names=self.layout.node_labels,
                scores=self.scores(), dst_names=self.layout.sub_labels))

    def suggestions(self, edge=None, topk=5) -> list:
        """``model.suggest_symbolic`` of the edge, ranked, cached until the model changes."""
        e = self._edge(edge)
        with self.lock:
            return self._cached(("suggest", e, topk), lambda: self._call(
                self.model.suggest_symbolic, e, topk=topk))

    def candidate(self, edge, name):
        """The best ``SymbolicFit`` of function ``name`` for the edge (a manual pick), cached."""
        e = self._edge(edge)
        with self.lock:
            def fit():
                for f in self.suggestions(e):
                    if f.name == name:
                        return f
                fits = self._call(self.model.suggest_symbolic, e, lib=[name], topk=1)
                if not fits:
                    raise ValueError(f"no fit of {name!r} for edge {e}")
                return fits[0]
            return self._cached(("candidate", e, name), fit)

    def previews(self, edge=None, fits=None) -> list[float]:
        """The loss (test split if any: RMSE, or a classifier's cross-entropy) if the edge were
        fixed to each of ``fits`` (default: the suggestions); the model is not changed. NaN
        without data. On an edge already fixed to a function, that function's entry is the
        loss now (``losses()[0]``): the edge is that function already (``current_function``)."""
        e = self._edge(edge)
        with self.lock:
            fits = self.suggestions(e) if fits is None else list(fits)
            if self.X is None:
                return [float("nan")] * len(fits)
            X, y = ((self.X_test, self.y_test) if self.X_test is not None else (self.X, self.y))
            key = ("preview", e, tuple(fits))
            out = self._cached(key, lambda: [float(v) for v in fix_previews(
                self.model, e, fits, X, y, task=self.task)])
            now = self.current_function(e)
            if now is not None:
                out = [self.losses()[0] if f.name == now else v for f, v in zip(fits, out)]
            return out

    def current_function(self, edge=None):
        """The function a symbolic edge is fixed to now, or None (a spline or pruned edge)."""
        e = self._edge(edge)
        with self.lock:
            if self.model.edge_mode(e) != "symbolic":
                return None
            return self.model.layers[e.layer].sym_names.get((e.src, e.dst))

    def formula(self, digits=4):
        """``FormulaText`` of the model now (LaTeX, sympy and Python source, or why not)."""
        with self.lock:
            return self._cached(("formula", digits), lambda: formula_text(
                self.model, self.layout.node_labels[0], self.layout.node_labels[-1], digits))

    def _cached(self, key, compute):
        version = self.model.version  # a change made outside the session empties the cache
        if version != self._cache_version:
            self._cache.clear()
            self._cache_version = version
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = compute()
            return value
