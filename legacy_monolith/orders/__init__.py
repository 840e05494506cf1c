"""Orders: placing and cancelling orders. Public surface: :mod:`.facade`, :mod:`.events`.

Orders needs customers, products and stock, and reaches them only through the ports in
:mod:`.ports`, which the composition root fills with the other modules' facades -- or, after
an extraction, with HTTP clients.
"""
