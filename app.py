"""Digital Twin Studio: `streamlit run app.py`. A short router: pages in `pages/`, a shared sidebar."""
import streamlit as st

from ui import sidebar, state, training

# an emoji icon is drawn in the browser (a data: SVG); a ":material/…:" one is fetched from fonts.gstatic.com
st.set_page_config(page_title="Digital Twin Studio", page_icon="💻", layout="wide")
state.init()
training.settle()

page = st.navigation([
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
    st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/results.py", title="Results", icon=":material/insights:"),
    st.Page("pages/anomalies.py", title="Anomalies", icon=":material/crisis_alert:"),
    st.Page("pages/whatif.py", title="What-if", icon=":material/psychology_alt:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/fleet.py", title="Fleet", icon=":material/dns:"),
    st.Page("pages/sweep.py", title="Sweep", icon=":material/tune:"),
    st.Page("pages/live.py", title="Live", icon=":material/monitor_heart:"),
])
sidebar.render()
page.run()
