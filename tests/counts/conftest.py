"""Fixtures of the dispro.counts tests: the shared record generator, recordfiles.py, importable."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared generator, recordfiles.py
