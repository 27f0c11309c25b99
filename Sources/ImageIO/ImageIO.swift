// Module ImageIO: see docs/design.md for its place in the layering.
