"""The Chronicle: Osler's operational store (Epic: Chronicles).

The only code that touches its tables. Every clinical or business write goes through ``Chronicle``
in one database transaction: validate → version → store current + history → index → change feed →
audit.
"""
