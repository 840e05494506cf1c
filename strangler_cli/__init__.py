"""The ``strangler`` command line: one entry point for every component and operation."""
