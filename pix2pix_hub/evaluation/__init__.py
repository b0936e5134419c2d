"""Scoring translations: per-pair metrics, the `evaluate` pass over a split, and the judges (FCN-score style)."""
