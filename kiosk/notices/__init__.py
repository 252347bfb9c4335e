"""The kiosk's notices (通知、告示, R18): written by the desk, shown on the start screen."""
