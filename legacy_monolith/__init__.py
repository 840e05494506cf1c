"""The Shop: the legacy application, built as a modular monolith.

Modules (``catalog``, ``customers``, ``inventory``, ``orders``, ``notifications``) each own their
tables, rules and HTTP routes, and talk to each other only through ports wired in
:mod:`legacy_monolith.app` or through integration events. ``platform`` is what they all run on.
"""
