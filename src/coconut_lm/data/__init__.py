"""The data layer: examples to training sequences and prompts, for every method.

methods       `Method`: every per-method rule (markers, thought slots, stages, prompt layout)
schema        the `{"question", "steps", "answer"}` record and its checks
tokenization  records to token ids; the special tokens
tokenizer_training  training and saving tokenizers (BPE for from-scratch models)
curriculum    (example, stage, method) -> training sequence / evaluation prompt
collate       padding into batches (thoughts aligned)
batching      a split's sequences per epoch, ordered and cut into (micro-)batches
render        a stage's sequences as text, for reading
steps         free-text chains split into reasoning steps
datasets/     GSM8k, ProntoQA, ProsQA (generator, statistics) and the symbolic graph format
"""
