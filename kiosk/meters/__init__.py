"""Meter readings (抄表): the desk helps maintenance read the site's water, electricity,
gas and heat meters; each reading is a signed event."""
