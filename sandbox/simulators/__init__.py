"""Simulators of the external APIs. Each is an httpx transport: connectors send real HTTP requests
(method, URL, headers, body) and get real HTTP responses, with the API's auth, paging, rate limits
and error shapes, and faults injected on request."""
