"""The backups app's models, one module per idea."""

from .plans import Plan
from .repositories import Repository, RepositoryConflict, StorageSample
from .runs import Run

__all__ = ["Plan", "Repository", "RepositoryConflict", "Run", "StorageSample"]
