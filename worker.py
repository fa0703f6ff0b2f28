"""`python worker.py`: the Ratify worker (see `ratify.processes.worker`).

A thin entry point: the worker process itself (settings, Temporal, the event store, the
workflows and activities) is composed in `ratify.processes.worker`.
"""

from ratify.processes.worker import entry

if __name__ == "__main__":
    entry()
