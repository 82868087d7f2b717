"""Digital Twin Studio core: telemetry → features → hierarchical stack → honest evaluation.

No Streamlit here: the app and the CLI are thin faces over this library.
"""
import os

# Before LightGBM's OpenMP runtime loads (any twin_core import comes first): idle worker threads must sleep,
# not spin, on shared 2-core machines. An operator's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
