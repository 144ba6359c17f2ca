"""Data: toy sets, real datasets, user files; splits and scaling. Imports nothing from the model side."""

from mlplab.data.dataset import Dataset, Splits
from mlplab.data.real import DataPaths
from mlplab.data.registry import LOADERS, load_dataset
from mlplab.data.split import Standardizer, split

__all__ = ["LOADERS", "DataPaths", "Dataset", "Splits", "Standardizer", "load_dataset", "split"]
