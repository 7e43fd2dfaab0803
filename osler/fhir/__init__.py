"""FHIR R4 knowledge with no I/O: validation, search-parameter registry, index extraction, outcomes."""
