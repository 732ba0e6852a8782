"""Home: what GenAI Lab is and a map of the lessons."""
from components import home

home.show()
