"""The durable pipeline (DBOS): the worker and poller (``runner``), the workflows and their steps
(``workflows``), the content cache, the ledger of orders, documents, quarantine and deliveries."""
