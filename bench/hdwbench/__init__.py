"""httpdw's benchmark harness: starts httpdw and its peers on loopback, drives them with wrk/ab, measures the
server's process tree with psutil and reports medians, spreads and ratios to Apache's worker MPM.

Run it with ``python bench/run.py`` (see bench/README.md). Never collected by the project's pytest run.
"""
