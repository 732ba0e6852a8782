"""A simulated browser that speaks Streamlit's WebSocket protocol (client.py), and its tests."""
