"""Delivery: from the worker's queue to the collector, never blocking the host app.

    worker.Worker -> outbox_sink.OutboxSink -> encode (OTLP protobuf) -> outbox (SQLite)
                  -> transport (OTLP/HTTP); what is left at exit -> upload (detached process)

Nothing is imported here: `import prodtel` stays cheap, and each part is imported on use.
"""
