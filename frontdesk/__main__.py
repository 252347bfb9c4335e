"""``python -m frontdesk`` does what ``python run.py`` does."""
from .cli import main

main()
