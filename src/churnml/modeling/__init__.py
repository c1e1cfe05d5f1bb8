"""Out-of-time split, LightGBM training with calibration, tuning, evaluation and baselines."""
