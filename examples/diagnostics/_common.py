"""What the diagnostic examples share: standardised digits and where to save."""

import sys
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler


def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def save(fig, name):
    """Save ``fig`` as ``<out_dir>/<name>.png``; ``out_dir`` is the first argument."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=100)
