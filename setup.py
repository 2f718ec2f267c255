"""Build step: compile the CPU kernels into the package's own Numba cache.

``pip install .`` builds the wheel on the machine it installs on, so a tiny fit of each
model family (``python -m stochnet compile``) run against the built package fills
``stochnet/kernels/cpu/__pycache__`` for this CPU and this Numba; the wheel carries
those files and the first fit after installing loads them instead of compiling
(about 5 s instead of a minute). A wheel built on another kind of CPU, or installed
beside another Numba version, finds no matching entry and compiles on first use, with
its :class:`~stochnet.CompileWarning`. Editable installs and
``STOCHNET_PRECOMPILE=0`` skip the step.
"""

import os
import pathlib
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyPrecompiled(build_py):
    def run(self):
        super().run()
        if self.editable_mode or os.environ.get("STOCHNET_PRECOMPILE", "1") == "0":
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
        # pip's isolated build environment reaches its packages through PYTHONPATH.
        path = os.pathsep.join(filter(None, [self.build_lib, env.get("PYTHONPATH")]))
        env.update(PYTHONPATH=path, PYTHONDONTWRITEBYTECODE="1")
        result = subprocess.run(
            [sys.executable, "-m", "stochnet", "compile"], env=env, cwd=self.build_lib
        )
        for lock in pathlib.Path(self.build_lib).rglob("stochnet-compile.lock"):
            lock.unlink()
        if result.returncode:  # the package still works: kernels compile on first use
            print("stochnet: precompiling the kernels failed; they compile on first use.")


setup(cmdclass={"build_py": BuildPyPrecompiled})
