"""The reporting service's use cases, one module each: projecting events, computing figures,
presenting them (suppressed) and exporting them, rebuilding from the archive."""
