"""Spotify's distribution requirements, after the push as well as before it: what is wrong with an
episode's delivery (`problems`), and how it is told to the people who fix it (`note`, the Spotify
link status). The pre-flight (`functions.preflight`) finds what would be rejected before a push; this
package gathers that with what came back afterwards (a failed Megaphone ingest, an episode Spotify
never made playable, a takedown) into one typed list per episode.
"""
