"""Domain logic: the things Daydream does, called by views, the CLI and workers."""
