"""The security probes, as tests: what an outsider tries against the public API.

Each module is one family of probes, sent through the gateway of an embedded platform:
object-level access on every route with an id, mass assignment on every write, forged
tokens, forged and stale webhooks, spoofed forwarding headers, oversized and malformed
bodies. The route families come from the combined OpenAPI document, so a new route is
probed (or the test names it and says what to add) without anyone remembering to.
"""
