"""Pure logic: no I/O, time passed in."""
