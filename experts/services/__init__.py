"""Writes of the experts app: the pool, draws, evaluation, scoring, publicity, award and contract."""
