// Module TestSupport: see docs/design.md for its place in the layering.
