"""Training any method: the loop, checkpoints, optimisers and schedules, and the run's record and card."""
