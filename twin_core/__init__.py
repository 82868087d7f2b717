"""Digital Twin Studio core: telemetry → features → hierarchical stack → honest evaluation.

No Streamlit here: the app and the CLI are thin faces over this library.
"""
__version__ = "0.1.0"
