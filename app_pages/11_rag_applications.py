"""RAG & LLM apps — lesson page (content in lessons/11_rag_applications.md)."""
from components import demos
from components.common import lesson
from components.quiz import quiz_view

lesson.show("rag-applications", demos=demos.for_section("rag-applications"), end_of_lesson=quiz_view.end_of_lesson)
