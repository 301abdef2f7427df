"""The sans-I/O core: requests and answers as values, and every decision about them that needs no I/O.

Nothing in this package sends, sleeps or starts a thread; the I/O shells (``dynkube.transport``,
``dynkube.discovery``, ``dynkube.watch``) and the clients above them do. ``http`` holds the
``Request`` and ``Response`` values; ``status`` turns an answer into a typed error, a warning
text or a JSON object; ``calls`` builds each verb's request and says how to read its answer.
"""
