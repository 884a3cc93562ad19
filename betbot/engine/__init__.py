"""The async driver: the task group, the bet coroutines and their stream, back-off, rate limit, signals and
the drain. It does the I/O that the session machine (`betbot.core`) asks for."""
