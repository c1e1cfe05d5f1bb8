"""The data contract at the edge: table schemas, validation, the in-memory dataset, file I/O and adapters."""
