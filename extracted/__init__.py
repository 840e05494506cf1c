"""Services extracted from the Shop monolith, one package (and one deployable) each.

A service never imports the monolith: it learns the monolith's state from integration events
and talks to it, when it must, over HTTP.
"""
