"""How an adapter reaches its provider, the same for all four.

- :mod:`.http`: one upstream call (``send``, ``RequestBuilder``, validated answers),
  transport failures turned into the domain errors of :mod:`adapters.errors`;
- :mod:`.resilience` and :mod:`.breaker`: deadline, retries, retry budget, breaker;
- :mod:`.singleflight`: identical reads in flight at once share one call;
- :mod:`.cap`: the size cap on every answer;
- :mod:`.pooled`: the pooled transport to a real provider, over our own
  HTTP/1.1 client (:mod:`.wire`) and its keep-alive pool (:mod:`.wire_pool`);
- :mod:`.memo`: answers as mapped, kept by their exact bytes;
- :mod:`.keys` and :mod:`.paths`: each provider's key grammar and the one way a
  value goes into an upstream URL.
"""
