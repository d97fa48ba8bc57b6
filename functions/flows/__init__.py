"""One package per flow: `handler.py` (thin: parse, call logic, return) and `logic.py` (no HTTP)."""
