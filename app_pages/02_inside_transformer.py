"""Inside a transformer — lesson page (content in lessons/02_inside_transformer.md)."""
from components.labs.inside_transformer import attention_view
from components.labs.inside_transformer import embeddings_view
from components.common import lesson
from components.labs.inside_transformer import tokenizer_view

lesson.show("inside-transformer", demos={"tokenizer": tokenizer_view.show, "embeddings": embeddings_view.show,
                                           "attention": attention_view.show})
