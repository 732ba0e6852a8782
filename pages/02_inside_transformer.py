"""Inside a transformer — lesson page (content in lessons/02_inside_transformer.md)."""
from components import lesson, tokenizer_view

lesson.show("inside-transformer", demos={"tokenizer": tokenizer_view.show})
