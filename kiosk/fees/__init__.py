"""Fee standards at the counter (收费标准, R25): the standards managers keep and the
figures the desk computes from them, explained step by step. No payments anywhere."""
