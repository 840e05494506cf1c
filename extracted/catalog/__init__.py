"""The extracted catalog service: products, served from its own database.

Until the write cutover it keeps a copy of the monolith's products from the
``catalog.product.*`` events (:mod:`.projection`) and serves the same read API byte for byte.
After ``strangler ownership move catalog --to catalog`` it owns the product writes
(:mod:`.writes`), publishes the same events through its own outbox, and the monolith keeps its
table current from them (reverse sync).

Layers, top down: ``app`` (composition root) -> ``api`` -> ``writes``/``queries``/
``projection``/``states`` -> ``events``/``models`` -> ``tables`` -> ``settings``; the HTTP
plumbing comes from :mod:`strangler_http`.
"""
