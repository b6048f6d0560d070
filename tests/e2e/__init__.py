"""TensorBoard in a real browser (`make test-e2e`); a package so its conftest keeps its own name."""
