"""A run: its configuration, the model and tokenizer built from it, its checkpoints and processes.

config         `RunConfig` (typed YAML, dotted overrides, validation naming the key)
official_args  the official code's args files translated to `RunConfig`
build          model + tokenizer for a config (hub, folder or from scratch; special tokens)
checkpoint     atomic checkpoints with a manifest, verification, `best/`
run_folder     what a run folder is, where a run resumes (never a silent restart), leftovers
distributed    process groups (DDP / FSDP), the device, collective helpers
lock           one writer per run folder
"""
