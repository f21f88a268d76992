"""Products, price plans, metering, wallets, invoices, credit notes and usage reports.

Empty until the Billing issue lands; it uses no other domain package and nothing of HTTP.
"""
