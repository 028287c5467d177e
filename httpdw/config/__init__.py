"""The configuration layer: Apache-style httpd.conf text in, a validated immutable model out.

Pipeline: grammar (text -> nodes) -> loader (Include/Define/If* -> processed tree) ->
validate (registry: names, contexts, arity, values) -> model (typed, frozen) -> worker_rules -> diagnostics.
"""
