"""Directive declarations, one module per area; importing this package registers them all.

Add a module here and import it below. Each directive is declared in exactly one module.
"""
