"""Build: the scratch module, the toolchain, go build through the executable cache, vet,
the warm-up."""
