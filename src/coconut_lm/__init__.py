"""coconut-lm: Chain of Continuous Thought (Coconut) for any Hugging Face causal LM.

The package owns the continuous-thought model (`CoconutModel`), the data and curriculum for every
method the paper compares, the trainer and evaluator, the paper's analyses, and the `coconut-lm`
command line. Nothing runs at import time.
"""

from coconut_lm.data.methods import Method

__version__ = "0.1.0"

__all__ = ["CoconutModel", "CoconutOutput", "GenerateOutput", "Method", "__version__"]


def __getattr__(name: str):
    # The model module imports torch and transformers; load it only when asked for.
    if name in ("CoconutModel", "CoconutOutput", "GenerateOutput"):
        from coconut_lm.model import coconut as model

        return getattr(model, name)
    raise AttributeError(f"module 'coconut_lm' has no attribute {name!r}")
