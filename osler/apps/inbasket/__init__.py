"""In Basket: the message center for staff (individuals and pools) and patients.

=================  ===============================================================
module             owns
=================  ===============================================================
``messages``       composing Communications and Tasks (pure; callers store them)
=================  ===============================================================
"""

from osler.apps.inbasket.messages import (
    CATEGORIES,
    CATEGORY,
    STATE_TAG,
    STATES,
    compose_message,
    compose_task,
    post_entry,
)

__all__ = ["CATEGORIES", "CATEGORY", "STATES", "STATE_TAG", "compose_message", "compose_task", "post_entry"]
