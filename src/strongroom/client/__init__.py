"""Client-side helpers: they speak the wire protocols and never import server code."""
