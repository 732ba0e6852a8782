"""RAG & LLM apps — lesson page (content in lessons/11_rag_applications.md)."""
from components import demos
from components.common import lesson

lesson.show("rag-applications", demos=demos.for_section("rag-applications"))
