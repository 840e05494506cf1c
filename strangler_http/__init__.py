"""The HTTP kit every Flask deployable shares: JSON in, JSON out, one error shape.

The monolith, every extracted service and the proxy's admin API answer errors as
``{"error": {"code": "...", "message": "..."}}`` with the same statuses and the same rules for
bodies and pagination. Sharing this code (rather than copying it into each service) makes that a
property of the build, not something each copy has to be tested into. It knows no deployable.
"""
