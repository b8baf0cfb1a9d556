"""The mybinder configuration: checked with repo2docker itself (no docker build needed)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_requirements_pin_cpu_torch_and_install_the_package():
    lines = [ln.strip() for ln in (ROOT / "binder/requirements.txt").read_text().splitlines()]
    assert any(ln.startswith("--extra-index-url ") and "/whl/cpu" in ln for ln in lines)
    assert not any(ln.startswith("--index-url") for ln in lines), "would replace PyPI for all"
    assert any(ln.startswith("torch==") and ln.endswith("+cpu") for ln in lines)
    assert any(ln == "." or ln.startswith(".[") for ln in lines), "binder must install the package"
    assert (ROOT / "binder/runtime.txt").read_text().strip() == "python-3.11"


def test_repo2docker_accepts_the_configuration():
    exe = shutil.which("jupyter-repo2docker") or str(Path(sys.executable).parent / "jupyter-repo2docker")
    if not Path(exe).exists():
        pytest.skip("jupyter-repo2docker is not installed (pip install -e '.[test]')")
    out = subprocess.run([exe, "--no-build", "--debug", str(ROOT)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    dockerfile = out.stdout + out.stderr
    assert "python=3.11" in dockerfile
    # the whole repository is copied before the requirements (with '.') are installed
    copy_all = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    install = dockerfile.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    assert copy_all < install


def test_readme_binder_badge_opens_the_quickstart():
    readme = (ROOT / "README.md").read_text()
    assert "mybinder.org/v2/gh/" in readme
    assert "urlpath=lab/tree/notebooks/01_quickstart.ipynb" in readme
    assert (ROOT / "notebooks/01_quickstart.ipynb").exists()
