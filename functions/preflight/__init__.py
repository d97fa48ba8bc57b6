"""Distribution pre-flight: what Spotify (through Megaphone) would reject, found before the push.

- `artwork`: the cover read with Pillow; compliant renditions where the source is only too large or
  not RGB; held where it cannot be fixed.
- `audio`: the master's type and duration read with mutagen; compared with Consonance's duration.
- `text`: title, subtitle, description and explicit flag as pushed, within the platforms' limits.
- `identity`: when a media file counts as unchanged, so its check is reused without a fetch.
- `check`: one episode's pre-flight, with the media connector and the rendition store injected.
- `settings`, `findings`: every limit with its source, every finding code with whether it blocks.
"""
