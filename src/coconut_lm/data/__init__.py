"""Data: the example schema, tokenisation, the curriculum of every method, the collator and the
dataset builders (GSM8k, ProntoQA, the ProsQA generator)."""
