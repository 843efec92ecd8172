"""The model layer: the continuous-thought wrapper and what its forward needs.

coconut          `CoconutModel`: the multi-pass forward, generation, the thought feedback
kv_cache         the preallocated key/value cache the passes share
attention_masks  4D masks built once per call and sliced per pass
generation       greedy decoding helpers
"""
