"""Reusable Streamlit widgets. Only components/resources.py may use st.cache_resource / st.cache_data."""
