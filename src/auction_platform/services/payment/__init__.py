"""The payment service: orders, Stripe, webhooks and refunds.

Besides the furniture every service has, ``commands.py`` holds the use cases'
commands, ``providers.py`` the port to the payment provider (Stripe, or
``sandbox.py``), ``webhooks.py`` the use case that applies a provider's news and
``scheduler.py`` the deadlines job. It calls no other service.
"""
