"""Inside a transformer — lesson page (content in lessons/02_inside_transformer.md)."""
from components import attention_view, embeddings_view, lesson, tokenizer_view

lesson.show("inside-transformer", demos={"tokenizer": tokenizer_view.show, "embeddings": embeddings_view.show,
                                           "attention": attention_view.show})
