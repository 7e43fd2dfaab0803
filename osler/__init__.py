"""Osler: an open-source EHR and health-data platform built on FHIR R4."""

__version__ = "0.1.0"
