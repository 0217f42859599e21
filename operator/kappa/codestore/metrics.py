"""The code store's Prometheus series (``GET /metrics``)."""

from prometheus_client import CollectorRegistry, Counter, Gauge

from kappa.codestore.garbage import StoredPackage


class CodeStoreMetrics:
    """What the store holds, its uploads and downloads, and what its collector deleted."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.packages = Gauge(
            "kappa_codestore_packages", "Packages on the volume.", registry=self.registry
        )
        self.bytes = Gauge(
            "kappa_codestore_bytes", "Bytes of packages on the volume.", registry=self.registry
        )
        self.uploads = Counter(
            "kappa_codestore_uploads",
            "Uploads, by outcome (created, renewed, refused, unauthenticated, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.downloads = Counter(
            "kappa_codestore_downloads",
            "Downloads, by outcome (served, forbidden, missing, invalid, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.gc_deletions = Counter(
            "kappa_codestore_gc_deletions",
            "Packages deleted because no Function or FunctionVersion named them.",
            registry=self.registry,
        )
        self.gc_deleted_bytes = Counter(
            "kappa_codestore_gc_deleted_bytes",
            "Bytes of the packages the collector deleted.",
            registry=self.registry,
        )
        self.gc_runs = Counter(
            "kappa_codestore_gc_runs",
            "Collector passes, by outcome (done; skipped: the cluster could not be read; "
            "failed: the storage could not be listed or written).",
            ["outcome"],
            registry=self.registry,
        )

    def count(self, stored: list[StoredPackage]) -> None:
        """Set the gauges from a full listing of the volume."""
        self.packages.set(len(stored))
        self.bytes.set(sum(p.size for p in stored))

    def added(self, size: int) -> None:
        """A new package of ``size`` bytes."""
        self.packages.inc()
        self.bytes.inc(size)

    def removed(self, size: int) -> None:
        """A package of ``size`` bytes deleted."""
        self.packages.dec()
        self.bytes.dec(size)
