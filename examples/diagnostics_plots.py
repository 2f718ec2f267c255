"""Run every diagnostic example (``examples/diagnostics/*.py``), each writing its PNG.

Run with ``python examples/diagnostics_plots.py [out_dir]`` (matplotlib needed).
"""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "diagnostics"


def main(out_dir="."):
    sys.path.insert(0, str(HERE))
    for script in sorted(HERE.glob("[!_]*.py")):
        print(f"--- {script.name}")
        sys.argv = [str(script), out_dir]
        runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main(*sys.argv[1:])
