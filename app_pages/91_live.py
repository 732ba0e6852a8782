"""Live quiz for workshop participants: join a room, answer live questions, see the leaderboard."""
from components.workshop import participant_view

participant_view.live_page()
