"""The ASGI server around the Streamlit app (server.py): what a shared workshop server needs before a script runs.

Layer: server.py → web → core. Nothing here imports components/ or app_pages/, and nothing in the app imports web/.
"""
