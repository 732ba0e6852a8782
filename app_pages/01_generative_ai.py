"""What is generative AI? — lesson page (content in lessons/01_generative_ai.md)."""
from components.labs.generative_ai import hallucination_view
from components.common import lesson

lesson.show("generative-ai", demos={"hallucination": hallucination_view.show})
