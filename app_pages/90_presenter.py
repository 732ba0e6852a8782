"""Presenter console (locked by the presenter key): room, join code, QR code, live quiz."""
from components.workshop import presenter_view

presenter_view.show()
