"""The strangler proxy: owns the stable public URL and decides, per route, who answers.

Data plane: forwarding, shadow/diff, canary, fallback, circuit breaker, metrics.
Control plane: the route table as data, its validation and atomic reload, the admin API, the
audit trail, the contract gate, and the CLI that drives them.
"""
