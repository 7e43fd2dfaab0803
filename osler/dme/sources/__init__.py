"""Where orders come from: the ``Source`` interface and its plug-ins (FHIR, fax folder, Maildir)."""

from osler.dme.sources.base import Auth, BearerToken, Discovered, FetchedFile, FetchedOrder, Source
from osler.dme.sources.fax import FaxFolder
from osler.dme.sources.fhir import FhirSource, FhirSourceError
from osler.dme.sources.maildir import MaildirSource

__all__ = ["Auth", "BearerToken", "Discovered", "FaxFolder", "FetchedFile", "FetchedOrder", "FhirSource",
           "FhirSourceError", "MaildirSource", "Source"]
