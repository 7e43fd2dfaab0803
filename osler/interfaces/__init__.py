"""Boundaries with the outside world: the FHIR REST API, HL7 v2, X12, exchange."""
