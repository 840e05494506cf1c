"""The extracted catalog service: products, served from its own database.

First half of the extraction: it keeps a read copy of the monolith's products from the
``catalog.product.*`` events (:mod:`.projection`) and serves the same read API
(``GET /api/products``, ``GET /api/products/<id>``) byte for byte. Writes stay with the
monolith until the write cutover.

Layers, top down: ``app`` (composition root) -> ``api`` -> ``observability``/``web`` (HTTP
plumbing) -> ``projection``/``states``/``queries`` -> ``models`` -> ``tables`` -> ``settings``.
"""
