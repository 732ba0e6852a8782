"""Pure-Python logic of GenAI Lab. Nothing in this package may import streamlit."""
