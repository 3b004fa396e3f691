"""The records layer: the typed, versioned models of everything llmops persists or exchanges.

It sits at the bottom of the layer table (it imports only ``errors`` and ``limits``), so the runner, the gate,
serving, ``usage``, releases and the report all read the same types. A new persisted or exchanged format goes
here as a :class:`~llmops_cli.records.base.Record` subclass with a ``KIND``, a ``SCHEMA_VERSION``, a docstring
on every field and a migration for every older version on disk.

Modules: :mod:`.base` (the base classes, loading with file + JSON path errors, migrations), :mod:`.chat`
(messages, content parts, tools and tool calls: what a model call sends and returns), :mod:`.feedback`
(feedback on a served call), :mod:`.score` (a judge's score of a logged call), :mod:`.requests` (the request
record of a serving call, and the columns ``llmops usage`` derives from it) and :mod:`.releases` (the release
manifest, channel moves and their canary, the bundle).
"""

from .base import OpenRecord, Record, RecordError, dump_record, load_record

__all__ = ["OpenRecord", "Record", "RecordError", "dump_record", "load_record"]
