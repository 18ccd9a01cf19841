"""Provider webhooks in: Auco's document events, connectFi's application envelope.

Each receiver authenticates the caller with what its provider can send (Auco: a
static header value; connectFi: an unguessable path token), compared in constant
time; reads at most ``webhook_max_bytes``; validates the body against its declared
shape (400 otherwise, logged without personal data); and publishes one
:class:`schema.live.events.Change` per logical event on ``app.state.events``,
de-duplicated (:mod:`.dedupe`), answering 2xx only once the change is published.
"""
