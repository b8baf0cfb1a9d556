"""Training from the Explorer without freezing it: the fit runs in a thread holding the
session's ``ModelLock``, which it opens between steps to threads that wait for it (a click
during training is served within one step); the fit callback bumps ``live`` at a bounded rate
for the views and reads the Stop flag.
"""

from __future__ import annotations

import threading
import time

from .checks import read_train_args
from .history import Step, restore_state
from .task import CLASSIFICATION

__all__ = ["ModelLock", "TrainCommands"]


class ModelLock:
    """A re-entrant lock that knows whether another thread is waiting for it.

    ``yield_to_waiters`` lets a long holder (training) hand the lock over between steps only
    when someone waits, so training pays nothing when the UI is idle.
    """

    def __init__(self):
        self._lock = threading.RLock()
        self._waiting = 0
        self._count = threading.Lock()

    def acquire(self, blocking=True, timeout=-1) -> bool:
        with self._count:
            self._waiting += 1
        try:
            return self._lock.acquire(blocking, timeout)
        finally:
            with self._count:
                self._waiting -= 1

    def release(self) -> None:
        self._lock.release()

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()

    def yield_to_waiters(self, max_wait=0.05) -> None:
        """Release the lock (all recursion levels) while another thread is waiting for it."""
        if not self._waiting:
            return
        # private RLock pair, the one threading.Condition uses (docs/PRIVATE_APIS.md)
        state = self._lock._release_save()
        try:
            deadline = time.monotonic() + max_wait
            while self._waiting and time.monotonic() < deadline:
                time.sleep(0.001)  # the waiter takes the lock; we queue behind it below
        finally:
            self._lock._acquire_restore(state)


class TrainCommands:
    """``train`` / ``stop`` / ``wait`` of ``Session`` (which supplies the traits, the lock,
    ``_changed``, ``_report`` and ``losses``)."""

    def train(self, steps=20, opt="LBFGS", lr=1.0, lamb=0.0, lamb_entropy=2.0,
              background=False, **fit_kw):
        """Run ``model.fit`` on the session's data; one undoable step.

        With ``background=True`` it runs in a thread and returns it at once (the UI stays
        live; ``stop()`` ends it after the current step); else it returns when done.
        Extra keywords go to ``fit``. Settings are checked first (``checks.read_train_args``):
        lr must be > 0 and finite, steps a whole number >= 1, penalties finite and >= 0.
        A classifier session (``task == "classification"``) fits with
        ``loss="cross_entropy"``, the loss the model was fitted with.
        """
        try:
            checked = read_train_args(steps, lr, lamb, lamb_entropy)
            if opt not in ("LBFGS", "Adam"):
                raise ValueError(f"opt must be 'LBFGS' or 'Adam'; got {opt!r}")
        except ValueError as err:
            self._report("train", err)
            raise
        if self.X is None:
            err = ValueError("train needs data: build the session with Session(model, data)")
            self._report("train", err)
            raise err
        self.poll()  # a change made outside becomes its own step first
        with self._busy:
            if self.training:
                err = RuntimeError("training is already running; press Stop first")
                self._report("train", err)
                raise err
            if self.discovering:  # both would share two CPUs; one at a time
                err = RuntimeError("Discover is running; wait for it or press its Stop first")
                self._report("train", err)
                raise err
            self._stop.clear()
            self.train_log = []
            self.training = True
        if self.task == CLASSIFICATION and "loss" not in fit_kw and "loss_fn" not in fit_kw:
            fit_kw["loss"] = "cross_entropy"
        args = dict(opt=opt, **checked, **fit_kw)
        if not background:
            self._run_train(args, raise_errors=True)
            return self
        self._thread = threading.Thread(target=self._run_train, args=(args, False),
                                        name="kan-explorer-train", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self):
        """Ask a running fit to stop after its current step."""
        self._stop.set()
        return self

    def wait(self, timeout=None) -> bool:
        """Wait until no fit is running (``timeout`` seconds at most; None: as long as it
        takes). True when none is running any more. Safe to call at any moment, also while
        ``train`` is still starting its thread."""
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while self.training:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            t = self._thread
            if t is not None and t.is_alive() and t is not threading.current_thread():
                t.join(0.05 if left is None else min(left, 0.05))
            else:  # not started yet, or a foreground fit in another thread
                time.sleep(0.002)
        t = self._thread
        if not self.training and t is not None and t is not threading.current_thread():
            # the thread ends right after its last frame: views show the final state on return
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.training

    def train_status(self) -> str:
        """The train panel's status line, read from the model's training log (so after Undo
        it tells the state of the model now, not of an undone fit)."""
        with self.lock:
            h = self.model.history_
            if not h["step"]:
                return "not trained yet"
            keys = ("step", "train_rmse", "test_rmse", "train_loss", "test_loss", "train_acc",
                    "test_acc")
            last = {k: (h[k][-1] if h.get(k) else float("nan")) for k in keys}
            n = len(h["step"])
        done = self.undo_history.done
        state = ("training" if self.training else
                 "done" if done and done[-1].kind == "train" else "model")
        head = f"{state}: step {last['step']} ({n} step{'s' * (n != 1)} trained)"
        if self.task == CLASSIFICATION:
            # accuracy first (what a classifier is judged by), then the loss it minimises
            acc = " · ".join(f"{k} acc {last[k + '_acc']:.1%}" for k in ("train", "test")
                             if last[k + "_acc"] == last[k + "_acc"])
            ce = f"cross-entropy {last['train_loss']:.3e}"
            return f"{head} · {acc or 'accuracy n/a'} · {ce}"
        test = "" if last["test_rmse"] != last["test_rmse"] else f" · test {last['test_rmse']:.3e}"
        return f"{head} · train {last['train_rmse']:.3e}{test}"

    def _run_train(self, args, raise_errors):
        timing = {"last": 0.0, "cost": 0.0}
        requested = args["steps"]

        def callback(info):
            self.train_log.append({k: info[k] for k in ("step", "train_rmse", "test_rmse", "reg")})
            self._cache.clear()  # the model moved
            now = time.monotonic()
            # frames start at most every live_interval s, and every 5x their cost: drawing
            # takes at most ~20% of the time however slow the views are
            if now - timing["last"] >= max(self.live_interval, 5 * timing["cost"]):
                timing["last"] = now
                self.live += 1
                timing["cost"] = time.monotonic() - now
            self.lock.yield_to_waiters()
            return self._stop.is_set()

        try:
            with self.lock:
                before = self.model.state()
                try:
                    self.model.fit(self.data, callback=callback, progress=False, **args)
                except BaseException as err:
                    restore_state(self.model, before)
                    self._changed(None)
                    self._report("train", err)
                    if raise_errors:
                        raise
                    return
                done = len(self.train_log)
                loss_before = self.undo_history.current_loss()
                if done:
                    test, train = self.losses()
                    label = f"train {done} step{'s' * (done != 1)} ({args['opt']})"
                    self.undo_history.push(Step(label, "train", test, train, before=before))
                note = ""
                if done < requested and not self._stop.is_set():
                    note = " — stopped early: the fit diverged and was rolled back (try a smaller lr)"
                elif self._stop.is_set():
                    note = " — stopped"
                acc = ""
                if self.task == CLASSIFICATION:
                    test_acc, train_acc = self.accuracies()
                    acc = f" · accuracy train {train_acc:.1%}" + (
                        f", test {test_acc:.1%}" if self.X_test is not None else "")
                self._changed(f"trained {done}/{requested} steps{acc}{note}",
                              "error" if "diverged" in note else "info")
                if done:
                    self.flag_worse(loss_before, self.undo_history.current_loss(), "training")
        finally:
            self.training = False
            self.live += 1  # a last live frame with the final state

