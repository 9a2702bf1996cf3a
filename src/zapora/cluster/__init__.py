"""A local cluster of Zapora processes on one machine, for trying and testing replicas.

``python -m zapora.cluster`` (``make cluster``) runs API replicas and workers behind nginx
on 127.0.0.1, sharing one PostgreSQL database and Redis, with a Graph API stand-in that
records what the workers send. Tests drive the same ``Cluster`` class to kill and restart
single processes.
"""

from zapora.cluster.processes import ClusterError, ManagedProcess
from zapora.cluster.runner import Cluster, ClusterConfig

__all__ = ["Cluster", "ClusterConfig", "ClusterError", "ManagedProcess"]
