"""Value types only: what flows through the monitor. Imports nothing else of the package."""
