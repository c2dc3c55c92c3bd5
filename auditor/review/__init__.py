"""Coach review: the risk-ranked queue, step verdicts, agreement (Cohen's kappa) and training examples from verdicts."""
