"""`coconut-lm bench` at toy size: every figure is there and sane (timings are not asserted)."""

from coconut_lm.apps.bench import BenchConfig, format_table, run_bench


def test_bench_reports_every_measurement():
    cfg = BenchConfig(
        n_layer=1,
        n_head=2,
        n_embd=32,
        vocab_size=100,
        batch_size=3,
        min_question=8,
        max_question=14,
        num_thoughts=2,
        answer_tokens=3,
        new_tokens=4,
        repeats=1,
        threads=1,
    )
    result = run_bench(cfg)
    train, gen = result["training"], result["generation"]
    assert train["passes"] == 3 and train["ratio"] > 0 and train["coconut_bytes"] > 0
    assert gen["new_tokens"] == 3 * 4 and gen["coconut_tok_s"] > 0 and gen["plain_tok_s"] > 0
    assert "| training step, fwd+bwd (s) |" in format_table(result)
