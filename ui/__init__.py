"""Streamlit helpers of the app: per-user session state, the shared sidebar, training jobs and formatting.

Only this package and `pages/` import Streamlit; every number they show comes from `twin_core`.
"""
