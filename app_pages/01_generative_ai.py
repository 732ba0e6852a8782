"""What is generative AI? — lesson page (content in lessons/01_generative_ai.md)."""
from components import hallucination_view, lesson

lesson.show("generative-ai", demos={"hallucination": hallucination_view.show})
