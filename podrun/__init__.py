"""podrun: Kubernetes Pod manifests in, Linux processes out."""
__version__ = "0.1.0"
# The Kubernetes minor version whose behaviour podrun follows (User-Agent kube-probe/1.31, ...).
KUBE_VERSION = (1, 31)
