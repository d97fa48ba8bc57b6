"""The signed webhook endpoint's pure parts: signature verification and replay protection."""
