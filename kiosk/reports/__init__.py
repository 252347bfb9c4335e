"""The site's reports for the desk and the manager: the customer feedback report of a
period (R13) and the monthly dispatch statistics with the paid services (R16), on screen,
printed on A4 and exported as CSV and .xlsx (``views``, ``charts``, ``exports``); and the
report of each period the manager issues to HQ (``issue``, ``issue_views``)."""
