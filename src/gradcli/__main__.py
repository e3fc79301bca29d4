"""``python -m gradcli``."""

from gradcli.cli import run

if __name__ == "__main__":
    run()
