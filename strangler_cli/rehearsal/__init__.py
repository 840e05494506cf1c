"""The migration rehearsal behind ``strangler demo`` / ``make demo``.

It starts every component as a supervised local process (logs under ``var/log/``), seeds the
Shop, drives live traffic at the stable URL and walks both extractions as an operator would,
with the operator's own commands: :mod:`.processes` supervises, :mod:`.traffic` is the clients,
:mod:`.walk` is the operator, :mod:`.view` shows progress and the summary.
"""
