"""Delivering a decided order: the packet PDF, the JSON record, the request letter for what is missing,
and the destinations (folder, webhook, CSV for billing)."""

from osler.dme.deliver.destinations import DeliveryFailed, append_csv, billing_rows, deliver_to_folder, post_webhook
from osler.dme.deliver.letter import missing_request
from osler.dme.deliver.packet import order_packet, show_source, show_value
from osler.dme.deliver.record import delivery_record, file_stem, result_digest

__all__ = ["DeliveryFailed", "append_csv", "billing_rows", "deliver_to_folder", "delivery_record", "file_stem",
           "missing_request", "order_packet", "post_webhook", "result_digest", "show_source", "show_value"]
