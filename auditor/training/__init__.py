"""Learning from labels: training sets, the trainable step scorer, and its evaluation on held-out SOPs."""
