"""Contributor promotion: one playlist per promotable author on the publisher's Spotify account."""
