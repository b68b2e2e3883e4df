"""Settings for every test and notebook pytest runs (notebook kernels inherit this environment).

Static figures instead of widgets in the notebooks nbval runs: nobody moves sliders there.
TensorFlow's own settings come from helpers/backend.py, which every module that needs
TensorFlow goes through.

``make test`` runs two pytest workers (pytest-xdist, ``--dist loadgroup``): every notebook
cell joins one group, so one worker runs the chapters and their solutions in order, cell by
cell (each chapter reads what the one before it saved), while the other runs the unit tests,
which work in their own temporary folders.
"""

import os

import pytest

os.environ.setdefault("CAPTCHA_WIDGETS", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put every notebook cell in the "notebooks" group, kept on one worker in collection order."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group("notebooks"))
