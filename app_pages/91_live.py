"""Live quiz for workshop participants: join a room, answer live questions, see the leaderboard."""
from components.workshop import workshop_view

workshop_view.live_page()
