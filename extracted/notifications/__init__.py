"""The notifications service: the second extraction, driven by events rather than HTTP writes.

It consumes ``customers.customer.registered``, ``orders.order.placed`` and
``orders.order.cancelled`` from RabbitMQ into its own database, records one notification per
event, and sends each as an email through dramatiq jobs after the recording commits. It keeps a
copy of the notifications the monolith recorded before the switch-over, so its
``GET /api/notifications`` answers exactly as the monolith's did. It imports nothing of the
monolith.
"""
