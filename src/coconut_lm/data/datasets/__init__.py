"""Builders of the paper's data sets in the project's schema (and the symbolic graph format)."""
