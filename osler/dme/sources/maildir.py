"""A Maildir inbox (the fax-to-email gateway's mailbox): each message's PDF/TIFF attachments are documents.

One item per message, so a message's attachments travel together; each attachment's document key is
the Message-ID plus the attachment's sha256. Once fetched, the message is flagged seen (``S``) and moved
to ``cur``, and discovery skips seen messages.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

from osler.dme.model import sha256
from osler.dme.sources.base import Discovered, FetchedFile, FetchedOrder
from osler.dme.sources.files import DOCUMENT_SUFFIXES, media_type

DOCUMENT_TYPES = {"application/pdf", "image/tiff", "image/tif"}


def attachments(message: Message) -> list[tuple[str, bytes]]:
    """(file name, bytes) of the message's PDF and TIFF parts."""
    found = []
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        filename = part.get_filename() or f"attachment-{index}"
        if part.get_content_type() in DOCUMENT_TYPES or Path(filename).suffix.lower() in DOCUMENT_SUFFIXES:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                found.append((filename, payload))
    return found


class MaildirSource:
    name = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _box(self) -> mailbox.Maildir:
        return mailbox.Maildir(self.path, create=False)

    def discover(self) -> Iterator[Discovered]:
        if not (self.path / "new").is_dir():
            return
        box = self._box()
        for box_key, message in box.items():
            if "S" in message.get_flags():
                continue
            message_id = (message.get("Message-ID") or f"<{box_key}>").strip()
            yield Discovered(f"maildir:{message_id}", self.name, {"box_key": box_key, "message_id": message_id})

    def fetch(self, item: Discovered) -> FetchedOrder:
        message = self._box()[item.ref["box_key"]]
        files = [FetchedFile(f"maildir:{item.ref['message_id']}:{sha256(data)}", filename,
                             [(data, media_type(data, filename))])
                 for filename, data in attachments(message)]
        return FetchedOrder(item.key, self.name, is_order=False, files=files)

    def archive(self, item: Discovered) -> None:
        box = self._box()
        box_key = item.ref["box_key"]
        if box_key in box:
            message = box[box_key]
            message.set_subdir("cur")
            message.add_flag("S")
            box[box_key] = message
