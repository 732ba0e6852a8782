"""Home: what GenAI Lab is and a map of the lessons."""
from components.common import home

home.show()
