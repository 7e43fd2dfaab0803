"""DME order intake: from EHR orders and faxed paperwork to clean, payer-compliant orders.

Talks to an EHR only through its sources (FHIR API, fax folder, Maildir), never through
``osler.chronicle``: it must work against any FHIR R4 EHR. ``model`` holds the records every stage
passes on; see the README's DME section for the stages and how to run them.
"""
