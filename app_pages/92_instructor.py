"""Instructor analytics (locked by the presenter key): share correct per question, per participant, CSV."""
from components.workshop import analytics_view

analytics_view.show()
