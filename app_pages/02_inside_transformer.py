"""Inside a transformer — lesson page (content in lessons/02_inside_transformer.md)."""
from components import demos
from components.common import lesson

lesson.show("inside-transformer", demos=demos.for_section("inside-transformer"))
