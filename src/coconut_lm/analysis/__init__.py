"""The paper's latent-reasoning analyses (docs/method.md §7): decoded thoughts, path categories, values;
and a run's metrics drawn.

checkpoint_io   a checkpoint as a `CoconutModel` + tokenizer; data; forced prompts
categories      the six outcome categories of a ProsQA output (pure text + graph)
paths           forced switching to language after k thoughts, categories per k
values          implicit values of frontier nodes after thought 1 and 2
thoughts        continuous thoughts through the LM head, nearest embeddings, norms
frontier        thoughts as a latent breadth-first search: frontier mass, top-k, attention
run_metrics     a run's metrics.jsonl read and drawn (`coconut-lm plot`)
plots           the figures (matplotlib, imported lazily)

The commands are `coconut-lm analyze thoughts|paths|values|frontier` and `coconut-lm plot`
(`cli/analyze.py`, `cli/plot.py`).
"""

# Exports resolve lazily, so importing the package (and `coconut-lm --help`) stays fast.
_EXPORTS = {
    "categories": ("Category", "PathVerdict", "ProsQAGraph", "classify_output"),
    "checkpoint_io": ("AnalysisModel", "load_analysis_model", "load_records"),
    "paths": ("PathsReport", "analyze_paths", "format_paths_table", "write_paths_report"),
    "run_metrics": ("RunMetrics", "plot_run", "read_metrics"),
    "thoughts": ("ThoughtsReport", "analyze_thoughts", "decode_thoughts", "write_thoughts_report"),
    "values": (
        "ValuesReport",
        "analyze_values",
        "continuation_values",
        "frontier",
        "node_heights",
        "write_values_report",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
