"""Letters from templates (函件, R27): the desk's letters and notices written from the
templates it uses often, filled from the customer archive, a ticket and the arrears list.
"""
