"""The clinical and business applications, one package each, over the Chronicle.

registration (Prelude) · scheduling (Cadence) · checkin (kiosk and front desk). Each is a Python
API whose writes go through ``Chronicle``; its HTTP face lives in ``osler.interfaces.app_api``.
Applications react to each other through the change feed (``osler.chronicle.reactions``), not by
calling each other's internals.
"""
