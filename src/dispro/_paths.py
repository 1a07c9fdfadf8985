"""Where dispro's bundled files live, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "_data"


def dictionary_dir() -> Path:
    """The data standard: ``dispro/data_dictionary`` in a wheel, ``data_dictionary/`` in a checkout."""
    installed = PACKAGE_DIR / "data_dictionary"
    if installed.is_dir():
        return installed
    checkout = PACKAGE_DIR.parent.parent / "data_dictionary"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "dispro cannot find its data standard (data_dictionary/); reinstall the package "
        "with `pip install -e .` from the project root"
    )
