"""RAG & LLM apps — lesson page (content in lessons/11_rag_applications.md)."""
from components import lesson

lesson.show("rag-applications")
