"""In Basket: the message center for staff (individuals and pools) and patients — results to review,
refill requests, patient messages, orders copied to outside recipients; for patients, results, visit
summaries, prescriptions ready — as Communication and Task resources with unread / read / done states
and routing rules (care team pools, out-of-office delegation).

Every call takes a ``Clinic`` first and an ``Actor`` by keyword.

=================  ===============================================================
module             owns
=================  ===============================================================
``vocabulary``     categories, state tags, identifiers, extensions; the errors
``messages``       composing Communications and Tasks, routed (callers store them)
``routing.json``   the routing rules: which category goes where
``routing``        applying them
``pools``          pools (shared inboxes) as FHIR Groups
``delegation``     out-of-office delegation, cached per process
``requests``       the request models (pydantic), shared with the HTTP API
``inbox``          an inbox: items newest first, counts by state
``actions``        read, done, send, reply
=================  ===============================================================
"""

from osler.apps.inbasket.actions import mark_done, mark_read, reply, send_message
from osler.apps.inbasket.delegation import end_delegation, set_delegation
from osler.apps.inbasket.inbox import Inbox, InboxItem, inbox
from osler.apps.inbasket.messages import compose_message, compose_task, post_entry
from osler.apps.inbasket.pools import define_pool, find_pool, list_pools, pool_code
from osler.apps.inbasket.requests import DelegationSetup, ItemAction, MessageRequest, PoolSetup, ReplyRequest
from osler.apps.inbasket.vocabulary import (
    CARE_TEAM,
    CATEGORIES,
    CATEGORY,
    STATE_TAG,
    STATES,
    Forbidden,
    UnknownReference,
    Unroutable,
)

__all__ = ["CARE_TEAM", "CATEGORIES", "CATEGORY", "STATES", "STATE_TAG", "DelegationSetup", "Forbidden", "Inbox",
           "InboxItem", "ItemAction", "MessageRequest", "PoolSetup", "ReplyRequest", "UnknownReference", "Unroutable",
           "compose_message", "compose_task", "define_pool", "end_delegation", "find_pool", "inbox", "list_pools",
           "mark_done", "mark_read", "pool_code", "post_entry", "reply", "send_message", "set_delegation"]
