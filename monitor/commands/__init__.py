"""The `monitor` commands, one module per group: plain functions that take
parsed values and a Console and return an ExitCode. monitor.cli parses the
arguments and calls them."""
