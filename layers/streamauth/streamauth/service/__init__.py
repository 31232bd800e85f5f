"""Use cases: parse-free, I/O through the stores, time passed in."""
