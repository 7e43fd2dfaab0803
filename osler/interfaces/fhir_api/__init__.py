"""The FHIR R4 REST API at ``/fhir`` (FastAPI), over the Chronicle."""

from osler.interfaces.fhir_api.app import create_app

__all__ = ["create_app"]
