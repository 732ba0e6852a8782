"""What is generative AI? — lesson page (content in lessons/01_generative_ai.md)."""
from components import lesson

lesson.show("generative-ai")
