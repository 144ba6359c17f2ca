"""``mlplab data``: list the datasets, show one (counts and a figure of examples), download MNIST/Fashion-MNIST."""

from __future__ import annotations

import os
from pathlib import Path

import click
import numpy as np

from mlplab.cli.environment import data_paths
from mlplab.data import download as dl
from mlplab.data.dataset import Dataset
from mlplab.data.real import IDX_DATASETS, DataPaths, find_idx_files
from mlplab.data.registry import LOADERS, SOURCES, is_file_spec, load_dataset
from mlplab.errors import DataError

DATA_DIR = click.option("--data-dir", type=click.Path(file_okay=False),
                        help="Folder holding IDX files (then $MLPLAB_DATA, /usr/share/datasets/NAME, the cache).")


@click.group("data")
def data_cmd() -> None:
    """List, inspect and download datasets."""


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def _where(name: str, data_dir: str | None, paths: DataPaths) -> tuple[str, str]:
    """(location, size) of a named dataset."""
    if name not in IDX_DATASETS:
        return ("built in", "-")
    try:
        found, _ = find_idx_files(name, data_dir, paths)
    except DataError as e:
        return (f"incomplete: {e}", "-")
    if not found:
        return (f"not found (run `mlplab data download {name}`)", "-")
    folder = next(iter(found.values())).parent
    return (str(folder), _size(sum(p.stat().st_size for p in found.values())))


@data_cmd.command("list")
@DATA_DIR
def list_cmd(data_dir: str | None) -> None:
    """List datasets: source, and where their files are on this machine.

    IDX datasets are looked for in --data-dir, $MLPLAB_DATA, /usr/share/datasets/NAME, then the user cache.
    """
    paths = data_paths()
    rows = [(name, SOURCES.get(name, ""), *_where(name, data_dir, paths)) for name in sorted(LOADERS)]
    widths = [max(len(r[i]) for r in [("name", "source", "location", "size"), *rows]) for i in range(3)]
    header = ("name", "source", "location", "size")
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    click.echo("\nAlso: any .csv (label column: --label-column, default last) or .npz file (arrays X, y) by path.")


def _counts(y: np.ndarray, names: list[str] | None) -> str:
    k = len(names) if names else int(y.max()) + 1
    counts = np.bincount(y, minlength=k)
    return ", ".join(f"{names[i] if names else i}: {c}" for i, c in enumerate(counts))


@data_cmd.command("show")
@click.argument("name")
@click.option("--out", "-o", type=click.Path(dir_okay=False),
              help="PNG of examples (images) or a scatter (2-D sets). [default: NAME-examples.png]")
@click.option("--per-class", type=click.IntRange(1, 30), default=8, show_default=True,
              help="Images shown per class.")
@click.option("--label-column", help="CSV files: label column by name or 0-based index. [default: last]")
@click.option("--seed", type=int, default=0, show_default=True, help="Which examples are drawn.")
@DATA_DIR
def show_cmd(name: str, out: str | None, per_class: int, label_column: str | None, seed: int,
             data_dir: str | None) -> None:
    """Show a dataset's shape and class counts, and draw examples.

    NAME is a dataset name or a .csv/.npz path. Image sets get a grid of examples per class, 2-D sets a
    scatter, 1-D regression sets a plot of y against x (written atomically to --out).
    """
    ds = load_dataset(name, data_dir=data_dir, data_paths=data_paths(), label_column=label_column, seed=seed)
    click.echo(f"dataset     {ds.name}  ({ds.meta.get('source', SOURCES.get(name, ''))})")
    click.echo(f"task        {ds.task}")
    click.echo(f"X           {ds.X.shape[0]} examples × {ds.X.shape[1]} features, {ds.X.dtype}"
               + (f", images {'×'.join(map(str, ds.image_shape))}" if ds.image_shape else ""))
    if ds.X_test is not None:
        click.echo(f"test set    {ds.X_test.shape[0]} examples (predefined)")
    if ds.task == "classification":
        click.echo(f"classes     {ds.n_outputs}")
        click.echo(f"counts      {_counts(ds.y, ds.class_names)}")
        if ds.y_test is not None:
            click.echo(f"test counts {_counts(ds.y_test, ds.class_names)}")
    else:
        y = ds.y.reshape(len(ds.y), -1)
        click.echo(f"targets     {y.shape[1]}; range {y.min():.4g} .. {y.max():.4g}")
    stem = Path(name).stem if is_file_spec(name) else name
    path = Path(out) if out else Path(f"{stem}-examples.png")
    if _figure(ds, path, per_class, seed):
        click.echo(f"wrote       {path}")
    else:
        click.echo("figure      none (only image datasets and 1-D/2-D sets are drawn)")


def _figure(ds: Dataset, path: Path, per_class: int, seed: int) -> bool:
    """Draw examples of ``ds`` to ``path`` (atomically); False when the data has no natural picture."""
    from mlplab import plots

    plt = plots.plt
    if ds.image_shape and len(ds.image_shape) == 2 and ds.task == "classification":
        rng = np.random.default_rng(seed)
        k = ds.n_outputs
        fig, axes = plt.subplots(k, per_class, figsize=(per_class * 0.9 + 1.6, k * 0.9), squeeze=False)
        for c in range(k):
            idx = np.flatnonzero(ds.y == c)
            pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else idx
            for j, ax in enumerate(axes[c]):
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ax.spines.values():
                    side.set_visible(False)
                if j < len(pick):
                    ax.imshow(ds.X[pick[j]].reshape(ds.image_shape), cmap="gray_r", interpolation="nearest")
            label = ds.class_names[c] if ds.class_names else str(c)
            axes[c][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        fig.suptitle(f"{ds.name}: {per_class} examples per class")
        plots.save(fig, path)
        return True
    if ds.n_features == 2 and ds.task == "classification":
        fig, ax = plt.subplots(figsize=(5.5, 5))
        for c in range(ds.n_outputs):
            m = ds.y == c
            ax.scatter(ds.X[m, 0], ds.X[m, 1], s=8, label=ds.class_names[c] if ds.class_names else str(c))
        names = ds.meta.get("features") or ["x₁", "x₂"]
        ax.set(xlabel=names[0], ylabel=names[1], title=f"{ds.name}: {len(ds.X)} points")
        ax.legend(markerscale=2, fontsize=8)
        plots.save(fig, path)
        return True
    if ds.n_features == 1 and ds.task == "regression":
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter(ds.X[:, 0], ds.y.reshape(len(ds.y), -1)[:, 0], s=6)
        ax.set(xlabel="x", ylabel="y", title=f"{ds.name}: {len(ds.X)} points")
        plots.save(fig, path)
        return True
    return False


@data_cmd.command("download")
@click.argument("name", type=click.Choice(sorted(dl.CHECKSUMS)))
@click.option("--dest", type=click.Path(file_okay=False),
              help="Folder for the four .gz files. [default: $XDG_CACHE_HOME/mlplab/NAME or ~/.cache/mlplab/NAME]")
@click.option("--base-url", help="Download from this URL prefix instead of the public mirrors.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Seconds to wait on the network before giving up.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the destination folder.")
def download_cmd(name: str, dest: str | None, base_url: str | None, timeout: float, quiet: bool) -> None:
    """Download MNIST or Fashion-MNIST, checksum-verified.

    The four .gz IDX files are streamed into temporary files beside --dest, each SHA-256 is checked against
    the known digests, and only then are they renamed into place: a failure leaves nothing behind.
    """
    report = None if quiet else click.echo  # progress on stdout, so stderr holds only an error line
    paths = dl.download(name, dest or data_paths().cache_dir(name), base_url, timeout=timeout, report=report)
    folder = paths[0].parent
    if quiet:
        click.echo(str(folder))
    else:
        hint = "" if dest is None else f" --data-dir {os.fspath(folder)}"
        click.echo(f"ready: mlplab train --dataset {name}{hint}")
