"""Streamlit widgets: common/ (shared by every page), workshop/, labs/<lab>/. Only cache.py modules use st.cache_*."""
