"""Tortoise migrations of the ``itk`` app; generated with ``tortoise makemigrations``."""
