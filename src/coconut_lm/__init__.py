"""coconut-lm: Chain of Continuous Thought (Coconut) for any Hugging Face causal LM.

The package owns the continuous-thought model (`CoconutModel`), the data and curriculum for every
method the paper compares, the trainer and evaluator, the paper's analyses, and the `coconut-lm`
command line. Nothing runs at import time.
"""

from coconut_lm.data.methods import Method

__version__ = "0.1.0"

__all__ = [
    "CoconutModel", "CoconutOutput", "GenerateOutput", "InferenceModel", "Method",
    "load", "load_config", "run_training", "__version__",
]  # fmt: skip


def __getattr__(name: str):
    # The model module imports torch and transformers; load it only when asked for.
    if name in ("CoconutModel", "CoconutOutput", "GenerateOutput"):
        from coconut_lm.model import coconut as model

        return getattr(model, name)
    if name in ("load", "InferenceModel"):  # a trained checkpoint, with everything its run saved
        from coconut_lm.eval import inference

        return getattr(inference, name)
    if name == "load_config":  # a run's YAML config (with overrides) as a `RunConfig`
        from coconut_lm.run.config import load_config

        return load_config
    if name == "run_training":  # run_training(load_config(path), device=None) is `coconut-lm train`
        # (not `train`: that name is the package's training layer, `coconut_lm.train`)
        from coconut_lm.train.trainer import train

        return train
    raise AttributeError(f"module 'coconut_lm' has no attribute {name!r}")
