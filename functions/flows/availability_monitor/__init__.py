"""Scheduled: polls Megaphone and the Spotify Web API for takedowns and availability changes."""
