"""Running trained generators: the image pipeline, the paper's test-time mode, and the fast CPU paths (`fast/`)."""
