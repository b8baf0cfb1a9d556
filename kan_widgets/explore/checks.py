"""Reading what a user typed into the Explorer: numbers and names, checked, never evaluated.

Each reader takes the text of a field (or a number from a script) and returns the value, or
raises ``ValueError`` whose message is the reason shown next to the field ("lr must be > 0").
They accept exactly what the message says: ``"2.5"`` is not an int of steps (it is refused,
never read as 25), ``"1e400"`` is not a finite float, ``"nan"`` is not a penalty.
"""

from __future__ import annotations

import math
import os
import re

__all__ = ["read_int", "read_float", "read_train_args", "read_grid", "read_path",
           "confine_path", "HUGE_GRID", "TRAIN_FIELDS"]

_INT = re.compile(r"[+-]?\d+")
# a plain decimal or scientific number; no "inf", "nan", hex, underscores or expressions
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

HUGE_GRID = 200  # a refine above this many intervals warns about time and memory first


def read_int(value, name, low=None, high=None) -> int:
    """``value`` (an int, or text of one) as an int in ``[low, high]``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not _INT.fullmatch(text):
            raise ValueError(f"{name} must be a whole number like 20; got {value!r}")
        value = int(text)
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{name} must be a whole number; got {value!r}")
        value = int(value)
    elif not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}; got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value}")
    return int(value)


def read_float(value, name, low=None, high=None, low_open=False) -> float:
    """``value`` (a number, or text of one) as a finite float in the range given
    (``low_open``: strictly above ``low``)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number; got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not _FLOAT.fullmatch(text):
            raise ValueError(f"{name} must be a number like 0.01 or 1e-3; got {value!r}")
        value = float(text)
    elif isinstance(value, (int, float)):
        value = float(value)
    else:
        try:
            value = float(value)  # a numpy or torch scalar
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number; got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}; got {value:g}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high:g}; got {value:g}")
    return value


# the train panel's fields: name -> reader of the text typed there
TRAIN_FIELDS = {
    "steps": lambda v: read_int(v, "steps", 1, 100_000),
    "lr": lambda v: read_float(v, "lr", 0.0, 100.0, low_open=True),
    "lamb": lambda v: read_float(v, "lamb", 0.0),
    "lamb_entropy": lambda v: read_float(v, "lamb_entropy", 0.0),
}


def read_train_args(steps, lr, lamb, lamb_entropy) -> dict:
    """The train settings, each read by its ``TRAIN_FIELDS`` reader (first bad one raises)."""
    raw = dict(steps=steps, lr=lr, lamb=lamb, lamb_entropy=lamb_entropy)
    return {k: TRAIN_FIELDS[k](v) for k, v in raw.items()}


def read_grid(value) -> int:
    """Grid intervals for refine / coarsen: a whole number from 1 to 1000."""
    return read_int(value, "grid", 1, 1000)


def read_path(value, suffix=".kan") -> str:
    """A file path typed by a user: only a string (never evaluated or expanded), not empty,
    no NUL; ``suffix`` is appended when the name has none. A ``pathlib.Path`` is fine."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError(f"path must be text; got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError("path is empty: type a file name like model.kan")
    if "\x00" in text:
        raise ValueError("path must not contain a NUL character")
    if text.endswith(("/", "\\")):
        raise ValueError(f"path {text!r} names a folder: add a file name like model.kan")
    if "." not in text.replace("\\", "/").rsplit("/", 1)[-1]:
        text += suffix
    return text


def confine_path(value, root, suffix=".kan") -> tuple[str, str]:
    """A path typed into the app, kept inside the folder ``root``: ``(real, shown)``.

    A Voila deployment serves the Explorer to other people: what they type into the Save
    field may write only below ``root`` (the server's working directory, or the Explorer's
    ``save_dir``). ``value`` is read by ``read_path`` (so ``suffix`` is added to a bare name),
    taken relative to ``root``, and refused when it has a ``..`` component, or when the real
    path (symbolic links followed, a dangling one too) is not inside ``root``: an absolute
    path elsewhere, or a link inside ``root`` leading out. Returns the real absolute path to
    write and the path relative to ``root`` to show (the folders of the server above ``root``
    are not shown to its users).
    """
    text = read_path(value, suffix)
    real_root = os.path.realpath(os.fspath(root))
    if not os.path.isdir(real_root):
        raise ValueError(f"the save folder {os.fspath(root)!r} does not exist")
    if ".." in re.split(r"[\\/]", text):
        raise ValueError(f"path {text!r} must not contain '..': give a file name, or a path "
                         "below the save folder (like runs/model.kan)")
    real = os.path.realpath(os.path.join(real_root, text))
    if os.path.commonpath([real, real_root]) != real_root or real == real_root:
        why = ("is outside the save folder" if os.path.isabs(text)
               else "leads out of the save folder (through a symbolic link)")
        raise ValueError(f"path {text!r} {why}: give a file name, or a path below the save "
                         "folder (like runs/model.kan)")
    return real, os.path.relpath(real, real_root)
