"""Applications built on the library: the demo and the benchmark."""
