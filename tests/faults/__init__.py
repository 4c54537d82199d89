"""The fault suite: a seeded bid history with faults injected one at a time, and its checks.

``make faults`` runs it and prints its table; ``.ci/run`` runs it after the other tests.
"""
