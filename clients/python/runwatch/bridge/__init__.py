"""Bridges from Runwatch's run log to trackers' own Python SDKs (W&B, Aim, ClearML).

`python -m runwatch.bridge <tracker>` is started by the extension's bridge backend, one
process per backend; it reads framed requests on stdin and answers on stdout (see
protocol.py). SDKs are imported only when their bridge starts."""
