"""Save from the app (a Voila deployment serves it to other people): a typed path stays inside
the save folder. ``..``, absolute paths elsewhere and symbolic links leading out are refused
with the reason in the message bar, and nothing is written outside."""

from __future__ import annotations

import os

import pytest

from kan_widgets import Explorer
from kan_widgets.explore import Session
from kan_widgets.explore.checks import confine_path


@pytest.fixture
def root(tmp_path):
    """save folder ``tmp/app`` next to ``tmp/outside``; ``app/out`` links to ``outside``,
    ``app/runs`` is a real subfolder, ``app/escape.kan`` a link to a file outside."""
    app, outside = tmp_path / "app", tmp_path / "outside"
    app.mkdir()
    outside.mkdir()
    (app / "runs").mkdir()
    (app / "out").symlink_to(outside, target_is_directory=True)
    (app / "escape.kan").symlink_to(outside / "victim.kan")
    return app


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_confine_path_accepts_paths_below_the_folder(root):
    real = os.path.realpath(root)
    assert confine_path("run1", root) == (os.path.join(real, "run1.kan"), "run1.kan")
    assert confine_path(" runs/a.pt ", root) == (os.path.join(real, "runs", "a.pt"),
                                                 os.path.join("runs", "a.pt"))
    # an absolute path inside the folder is fine; "." components are harmless
    assert confine_path(str(root / "runs" / "b.kan"), root)[1] == os.path.join("runs", "b.kan")
    assert confine_path("./runs/./c", root)[1] == os.path.join("runs", "c.kan")


@pytest.mark.parametrize("typed, why", [
    ("../x.kan", "must not contain '..'"),
    ("runs/../../x.kan", "must not contain '..'"),
    ("runs/..", "must not contain '..'"),
    ("..\\x.kan", "must not contain '..'"),
    ("/etc/passwd.kan", "is outside the save folder"),
    ("/tmp/x.kan", "is outside the save folder"),
    ("out/x.kan", "leads out of the save folder"),
    ("escape.kan", "leads out of the save folder"),
    ("", "path is empty"),
    ("runs/", "names a folder"),
])
def test_confine_path_refuses_what_leaves_the_folder(root, typed, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(")) as e:
        confine_path(typed, root)
    assert "save folder" in str(e.value) or why in ("path is empty", "names a folder")


def test_confine_path_needs_an_existing_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        confine_path("a", tmp_path / "nope")


def test_session_save_confined_refuses_and_says_why_in_the_message(fitted, toy, root, tmp_path):
    s = Session(fitted.copy(), toy)
    s.save_dir = str(root)
    for typed in ["../stolen", str(tmp_path / "outside" / "abs"), "out/through-link",
                  "escape.kan"]:
        with pytest.raises(ValueError):
            s.save(typed, confine=True)
        assert s.message_level == "error" and s.message.startswith("save failed: path")
    assert _files(tmp_path / "outside") == []  # nothing written outside, no temp file
    assert _files(tmp_path) == ["app", "outside"]
    # inside: written, and the message shows the path relative to the folder only
    path = s.save("runs/ok", confine=True)
    assert path == os.path.join(os.path.realpath(root), "runs", "ok.kan")
    assert s.message == f"saved the session to {os.path.join('runs', 'ok.kan')}"
    assert _files(root / "runs") == ["ok.kan"]  # the temporary file is gone
    assert Session.load(path).model.width == s.model.width
    # from code (not typed into the app) any path is the caller's choice
    assert s.save(tmp_path / "outside" / "by-code") == str(tmp_path / "outside" / "by-code.kan")


def test_session_save_confined_defaults_to_the_working_directory(fitted, toy, root,
                                                                 monkeypatch):
    monkeypatch.chdir(root)
    s = Session(fitted.copy(), toy)
    assert s.save_dir is None
    s.save("here", confine=True)
    assert (root / "here.kan").exists()
    with pytest.raises(ValueError, match="outside the save folder"):
        s.save(str(root.parent / "there"), confine=True)


def test_save_button_is_confined_to_the_explorers_save_dir(fitted, toy, root, tmp_path):
    ex = Explorer(fitted.copy(), toy, save_dir=root)
    a = ex.train_panel.actions
    for typed in ["../x", "/tmp/x", "out/x", "escape.kan"]:
        a.save_path.value = typed
        a.save_button.click()  # refused: the reason in the message bar, nothing raised
        assert ex.session.message.startswith("save failed: path"), ex.session.message
        assert ex.message.value.count("kw-msg-error") == 1
    assert _files(tmp_path / "outside") == []
    a.save_path.value = "runs/from-button"
    a.save_button.click()
    assert ex.session.message == f"saved the session to {os.path.join('runs', 'from-button.kan')}"
    assert (root / "runs" / "from-button.kan").exists()
    # Explorer.load keeps a save folder too; a missing one is refused at once
    ex2 = Explorer.load(root / "runs" / "from-button.kan", save_dir=root)
    assert ex2.session.save_dir == os.path.realpath(root)
    with pytest.raises(ValueError, match="not an existing folder"):
        Explorer(fitted.copy(), toy, save_dir=tmp_path / "missing")
