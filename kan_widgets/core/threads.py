"""How many intra-op threads the library's own work runs on.

Small KAN work (a [2, 5, 1] model on 1000 samples) is a few thousand short tensor ops; with
more than one torch thread each op pays a fork/join and, on a machine where other processes
run, waits for a descheduled worker. Measured on a 2-core machine, such work ran 4-24x slower
on torch's default of two threads than on one (``benchmarks/thread_crossover.py``). Large work
(wide layers, big batches) gains from all cores. So every public verb runs inside
:func:`scoped`, which picks the thread count from the size of the work and restores the
caller's setting when the verb returns (also after an exception or ``KeyboardInterrupt``).

What counts as the user's choice (it always wins; the policy then never changes the setting):

1. ``kan_widgets.set_threads(n)`` (``n=None`` goes back to the automatic policy);
2. the environment variable ``KW_NUM_THREADS`` (an int >= 1, read at every verb);
3. ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` set in the environment (torch's setting is used
   as it is);
4. a ``torch.set_num_threads(n)`` call made after ``kan_widgets`` was imported that changed
   the value (torch's setting is used as it is). A value set *before* the import cannot be
   told from torch's default; it is a ceiling: the policy never uses more threads than
   torch's setting at the start of the verb.

Otherwise (the automatic policy) a verb of size ``work`` (samples x spline coefficients, see
:func:`work_of`) runs on ``min(torch's setting, cores free, 1 + work // THRESHOLDS[verb])``
threads, where "cores free" is the CPU count minus the other runnable tasks of the machine
(``/proc/loadavg``) when the work is large enough to consider more than one thread. The
thresholds are the measured crossovers of ``benchmarks/thread_crossover.py``.

A forward called outside any verb (a user's own training loop) scopes its backward too: the
backward of ``model(x)`` runs on the count the forward ran on, and the caller's setting is
back when ``backward()`` returns (see ``_scope_backward``).

Re-entrancy and Python threads: verbs call verbs (``fit`` calls ``forward`` and
``update_grid``); only the outermost call of a Python thread decides and restores, an inner
one costs a thread-local lookup. torch's setting is per OS thread under its OpenMP backend
(the Linux and Windows wheels): ``torch.set_num_threads`` changes the calling thread and the
value new threads start with. So the Explorer's training thread and the UI thread each run
their own verbs on their own count. Each outermost verb restores the setting the *first* of
the overlapping verbs found (one lock guards the bookkeeping), so when all have returned every
thread that ran one, and any thread started later, has the user's setting. Under a
process-wide thread pool backend the overlapping verbs share one count (the last to start
chose it) until the last of them returns. A ``torch.set_num_threads`` call made *inside* a
verb (for example from a ``fit`` callback) is undone when the verb returns.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading

import torch

__all__ = ["set_threads", "get_threads", "scoped", "scope", "chosen_threads", "work_of", "THRESHOLDS"]

# Work (samples x spline coefficients, see ``work_of``) per extra thread, per verb: below it a
# verb runs on one thread. From benchmarks/thread_crossover.py (measured tables there).
THRESHOLDS = {
    "forward": 20_000_000,
    "fit": 20_000_000,        # per step: the batch
    "grid": 20_000_000,       # update_grid, refine: a least-squares solve per edge
    "symbolic": 200_000,      # suggest/fix/auto_symbolic: samples x edges fitted
    "attribute": 20_000_000,  # attribute, prune
}

_lock = threading.Lock()
_local = threading.local()  # .depth: verbs of this Python thread now running
_active = 0                 # outermost verbs running in all Python threads
_baseline = None            # the caller's setting, as the first of the overlapping verbs found
_user_threads = None        # set_threads(n)
_import_threads = torch.get_num_threads()  # torch's setting when the library was imported


def set_threads(n: int | None) -> int | None:
    """Fix the thread count of the library's work to ``n``, or ``None`` for automatic.

    Returns the previous value, so ``old = set_threads(1); ...; set_threads(old)`` restores it.
    The count applies inside the library's verbs only; torch's global setting outside them is
    left alone. Takes precedence over ``KW_NUM_THREADS``.
    """
    global _user_threads
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"set_threads(n): n must be an int >= 1, or None for the automatic "
                         f"policy; got {n!r}")
    old, _user_threads = _user_threads, n
    return old


def get_threads() -> int | None:
    """The value given to :func:`set_threads` (``None``: automatic)."""
    return _user_threads


def _fixed() -> int | None:
    """The user's fixed count (set_threads, then KW_NUM_THREADS), or None."""
    if _user_threads is not None:
        return _user_threads
    env = os.environ.get("KW_NUM_THREADS")
    if env is None or env.strip() == "":
        return None
    try:
        n = int(env)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"KW_NUM_THREADS must be an int >= 1 (threads for kan_widgets' work); "
                         f"got {env!r}. Unset it for the automatic policy.")
    return n


def _torch_is_explicit(current: int) -> bool:
    """True when torch's setting is the user's own choice (see the module docstring)."""
    return (current != _import_threads or "OMP_NUM_THREADS" in os.environ
            or "MKL_NUM_THREADS" in os.environ)


def _others_running() -> int:
    """Runnable tasks of the machine other than this one (Linux ``/proc/loadavg``), else 0."""
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(running - 1, 0)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def chosen_threads(verb: str, work: float, current: int | None = None) -> int:
    """The thread count the policy gives ``verb`` of size ``work`` now (no side effect).

    ``current`` is torch's setting (default ``torch.get_num_threads()``).
    """
    current = torch.get_num_threads() if current is None else current
    fixed = _fixed()
    if fixed is not None:
        return fixed
    if _torch_is_explicit(current):
        return current
    want = min(current, 1 + int(work // THRESHOLDS[verb]))
    if want > 1:  # only large work pays for the look at the machine's load
        want = max(1, min(want, _cpus() - _others_running()))
    return want


def _rows(x) -> int:
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    for key in ("train_input", "X"):  # pykan-style dict, Dataset
        inner = x.get(key) if isinstance(x, dict) else getattr(x, key, None)
        if inner is not None:
            return _rows(inner)
    try:
        return len(x)
    except TypeError:
        return 1


def work_of(model, verb: str, args, kwargs, name: str = "") -> float:
    """Size of a call of method ``name`` of kind ``verb``: samples x spline coefficients of the
    model; for the symbolic verbs samples x edges fitted (one for suggest/fix_symbolic, every
    edge for auto_symbolic), which each try every library function."""
    coefs = sum(layer.n_in * layer.n_out * (layer.coef.shape[-1] + 1) for layer in model.layers)
    if verb in ("forward", "fit"):
        x = args[0] if args else kwargs.get("data", kwargs.get("x", kwargs.get("X")))
        rows = _rows(x) if x is not None else 1
        if verb == "fit":
            batch = kwargs.get("batch", -1)
            rows = rows if batch is None or batch < 0 else min(rows, int(batch))
        return rows * coefs
    x = kwargs.get("X")
    if x is None:
        x = model.X_fit_
    rows = _rows(x) if x is not None else 1
    if verb == "symbolic":
        if name != "auto_symbolic":
            return rows
        return rows * sum(layer.n_in * layer.n_out for layer in model.layers)
    return rows * coefs


def scoped(verb: str):
    """Decorator for a ``KAN`` method: run it on the policy's thread count (outermost call of
    the Python thread only) and restore the caller's setting afterwards."""
    if verb not in THRESHOLDS:
        raise ValueError(f"unknown verb kind {verb!r}; one of {sorted(THRESHOLDS)}")

    def wrap(method):
        @functools.wraps(method)
        def inner(self, *args, **kwargs):
            depth = getattr(_local, "depth", 0)
            if depth:  # nested verb: the outermost one decided
                _local.depth = depth + 1
                try:
                    return method(self, *args, **kwargs)
                finally:
                    _local.depth = depth
            saved, n = _enter(verb, work_of(self, verb, args, kwargs, method.__name__))
            _local.depth = 1
            try:
                out = method(self, *args, **kwargs)
            finally:
                _local.depth = 0
                _exit(saved)
            if verb == "forward" and n != saved:
                _scope_backward(out, n, saved)
            return out

        return inner

    return wrap


@contextlib.contextmanager
def scope(verb: str, work: float):
    """The policy as a ``with`` block, for work that is not a ``KAN`` method (a widget that
    trains a torch MLP beside a KAN): ``with scope("fit", n_samples * n_params): ...``."""
    if verb not in THRESHOLDS:
        raise ValueError(f"unknown verb kind {verb!r}; one of {sorted(THRESHOLDS)}")
    depth = getattr(_local, "depth", 0)
    if depth:
        _local.depth = depth + 1
        try:
            yield
        finally:
            _local.depth = depth
        return
    saved, _ = _enter(verb, work)
    _local.depth = 1
    try:
        yield
    finally:
        _local.depth = 0
        _exit(saved)


def _scope_backward(out, n: int, saved: int) -> None:
    """Run the backward of a forward called outside any verb (``model(x).sum().backward()`` in
    the user's own loop) on the forward's count too, and restore ``saved`` when it ends.

    A hook on the output sets the count when the backward reaches it (CPU backward runs on the
    calling thread) and queues the restore for the end of the backward pass. A backward that
    raises skips queued callbacks: the next verb of the thread restores the setting then.
    """
    if not (isinstance(out, torch.Tensor) and out.requires_grad and out.device.type == "cpu"):
        return

    def hook(grad):
        # inside a verb (fit's own backward) or after the user changed the setting: leave it
        if getattr(_local, "depth", 0) or torch.get_num_threads() != saved:
            return
        _restore_pending()
        _local.pending = saved
        torch.set_num_threads(n)
        torch.autograd.Variable._execution_engine.queue_callback(_restore_pending)

    out.register_hook(hook)


def _restore_pending() -> None:
    saved = getattr(_local, "pending", None)
    _local.pending = None
    if saved is not None and torch.get_num_threads() != saved:
        torch.set_num_threads(saved)


def _enter(verb: str, work: float) -> tuple[int, int]:
    global _active, _baseline
    _restore_pending()  # a scoped backward that raised left its count behind
    with _lock:
        current = torch.get_num_threads()
        if _active == 0:
            _baseline = current
        _active += 1
        try:
            n = chosen_threads(verb, work, _baseline)
        except BaseException:
            _active -= 1
            raise
        if n != current:
            torch.set_num_threads(n)
        return _baseline, n


def _exit(saved: int) -> None:
    global _active
    with _lock:
        _active -= 1
        if torch.get_num_threads() != saved:
            torch.set_num_threads(saved)
