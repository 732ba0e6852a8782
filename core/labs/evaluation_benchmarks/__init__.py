"""Evaluation lab: overlap metrics (ROUGE, BLEU), benchmarks and leaderboards."""
