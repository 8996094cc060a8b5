"""The staff web UI: server-rendered pages over the selectors and services of the domain apps."""
