"""Training data: Sobol designs → friction laws → HDF5 shards (resumable, Dask scale-out), and loaders.

    generate_dataset(folder, samples=..., seed=...)      studio.data.generate
    load_split(folder, split, max_samples=None)          numpy arrays in memory (studio.data.loader)
    ShardStream(folder, split, ...)                      torch IterableDataset (studio.data.loader)
    read_manifest(folder), verify_dataset(folder)        studio.data.store
    sample_designs(seed, first_index, count)             studio.data.sampling

Format and guarantees: docs/data.md.
"""
from studio.data.store import DataError, read_manifest, verify_dataset  # noqa: F401


def __getattr__(name):
    # Lazily, so `import studio.data` neither starts JAX compilation nor imports torch.
    if name == "generate_dataset":
        from studio.data.generate import generate_dataset
        return generate_dataset
    if name in ("load_split", "ShardStream"):
        from studio.data import loader
        return getattr(loader, name)
    if name == "sample_designs":
        from studio.data.sampling import sample_designs
        return sample_designs
    raise AttributeError(f"module 'studio.data' has no attribute {name!r}")
