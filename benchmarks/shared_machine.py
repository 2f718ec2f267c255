"""stochnet on a shared machine: a second stochnet process, a busy neighbour, CPU limits.

Usage::

    python benchmarks/shared_machine.py            # every scenario (about 2 minutes)
    python benchmarks/shared_machine.py --fits 3   # fewer fits per process

Each scenario runs fresh processes on warm kernel caches and prints the time of each
fit against the same fit alone, measured in the same run:

* **pair**: two stochnet processes, each making ``--fits`` fits of digits with
  ``(128, 64)`` for 40 epochs at once (fair share on two cores: 2x; target: at most 3x
  for every fit, the first included);
* **busy neighbour**: one fit beside a pure-Python busy loop, for stochnet and for
  scikit-learn (target: stochnet's slowdown no worse than scikit-learn's);
* **affinity**: a fit pinned to one CPU against a fit with one thread (target: 1x);
* **threadpool_limits(1)**: the same, limited by threadpoolctl instead;
* **CPU quota** (where this process may create a cgroup): a fit in a cgroup limited to
  one CPU, with stochnet's default and with the quota ignored, against one thread;
* **PyTorch, both orders** (when installed): an epoch of ``compare.py``'s MLP in
  PyTorch, in a process that imported and fitted stochnet before or after importing
  torch, against PyTorch alone (target: 1.1x).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

FIT = """
import json, sys, time, warnings
import numpy as np
from sklearn.datasets import load_digits
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X / 16
{setup}
times = []
for i in range({fits}):
    tic = time.perf_counter()
    {fit}
    times.append(time.perf_counter() - tic)
print(json.dumps(times))
"""

STOCHNET_FIT = (
    "sn.MLPClassifier((128, 64), max_iter=40, tol=0, n_iter_no_change=10**9, "
    "random_state=i).fit(X, y)"
)
SKLEARN_FIT = (
    "SkMLP((128, 64), max_iter=40, tol=0, n_iter_no_change=10**9, random_state=i).fit(X, y)"
)
TORCH_LOOP = """
Xt = torch.rand(10_000, 784)
yt = torch.randint(0, 10, (10_000,))


def torch_fit(i):  # one epoch of compare.py's MLP: 784-256-256-10, Adam, batch 128
    torch.manual_seed(i)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
        torch.nn.ReLU(), torch.nn.Linear(256, 10),
    )
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for b in range(0, len(Xt), 128):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(Xt[b : b + 128]), yt[b : b + 128]).backward()
        opt.step()
"""
BUSY = "import time\nend = time.time() + 600\nwhile time.time() < end: pass\n"


def script(fit, setup, fits):
    return FIT.format(setup=textwrap.dedent(setup), fit=fit, fits=fits)


def start(code, env=None):
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        text=True,
    )


def finish(proc):
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"benchmark process failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def run(code, env=None):
    return finish(start(code, env))


def ratios(times, alone):
    return " ".join(f"{t / alone:.1f}x" for t in times)


def pair(fits):
    code = script(STOCHNET_FIT, "import stochnet as sn", fits)
    alone = run(code)
    both = [start(code), start(code)]
    together = [finish(p) for p in both]
    base = statistics.median(alone[1:] or alone)
    print(f"pair: alone {base:.3f} s per fit, the first {alone[0]:.3f} s (it loads the kernels)")
    for k, times in enumerate(together):
        first = times[0] / alone[0]
        print(f"  process {k}: first fit {first:.1f}x, then {ratios(times[1:], base)}")
    return max(max(times[0] / alone[0], *(t / base for t in times[1:])) for times in together)


def busy_neighbour(fits):
    results = {}
    for name, fit, setup in (
        ("stochnet", STOCHNET_FIT, "import stochnet as sn"),
        ("scikit-learn", SKLEARN_FIT, "from sklearn.neural_network import MLPClassifier as SkMLP"),
    ):
        code = script(fit, setup, fits)
        alone = statistics.median(run(code))
        busy = start(BUSY.replace("import time", "import time"), None)
        try:
            beside = statistics.median(run(code))
        finally:
            busy.kill()
            busy.wait()
        results[name] = beside / alone
        print(
            f"busy neighbour: {name} {alone:.3f} s alone, {beside:.3f} s beside it "
            f"({results[name]:.2f}x)"
        )
    return results


def one_cpu(fits):
    pinned = script(STOCHNET_FIT, "import os, stochnet as sn\nos.sched_setaffinity(0, {0})", fits)
    limited = script(
        STOCHNET_FIT,
        "import stochnet as sn\nfrom threadpoolctl import threadpool_limits\nthreadpool_limits(1)",
        fits,
    )
    one_thread = script(STOCHNET_FIT, "import stochnet as sn\nsn.set_num_threads(1)", fits)
    base = statistics.median(run(one_thread))
    for name, code in (("affinity {0}", pinned), ("threadpool_limits(1)", limited)):
        t = statistics.median(run(code))
        print(f"{name}: {t:.3f} s against {base:.3f} s with one thread ({t / base:.2f}x)")


def _quota_group():
    """A cgroup (v2, else v1) limited to one CPU, or None where none can be made."""
    for root, quota_file, value in (
        ("/sys/fs/cgroup", "cpu.max", "100000 100000"),
        ("/sys/fs/cgroup/cpu", "cpu.cfs_quota_us", "100000"),
    ):
        folder = os.path.join(root, "stochnet-bench")
        try:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, quota_file), "w") as f:
                f.write(value)
            return folder
        except OSError:
            continue
    return None


def quota(fits):
    folder = _quota_group()
    if folder is None:
        print("CPU quota: no writable cgroup here, skipped")
        return
    join = f"import os\nopen({folder + '/cgroup.procs'!r}, 'w').write(str(os.getpid()))\n"
    default = script(STOCHNET_FIT, join + "import stochnet as sn", fits)
    blind = script(
        STOCHNET_FIT,
        join + "import stochnet as sn, stochnet._runtime.threads as t\nt.cpu_quota = lambda: 1e9",
        fits,
    )
    one_thread = script(STOCHNET_FIT, "import stochnet as sn\nsn.set_num_threads(1)", fits)
    base = statistics.median(run(one_thread))
    for name, code in (("default", default), ("quota ignored (2 threads)", blind)):
        t = statistics.median(run(code))
        print(
            f"CPU quota of 1 CPU, {name}: {t:.3f} s against {base:.3f} s with one thread "
            f"and no quota ({t / base:.2f}x)"
        )


def pytorch(fits):
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch: not installed, skipped")
        return
    fit = "torch_fit(i)"
    alone = script(fit, "import torch\n" + TORCH_LOOP, fits)
    before = script(
        fit,
        "import torch\nimport stochnet as sn\n"
        "sn.MLPClassifier(max_iter=5).fit(X, y)\n" + TORCH_LOOP,
        fits,
    )
    after = script(
        fit,
        "import stochnet as sn\nsn.MLPClassifier(max_iter=5).fit(X, y)\n"
        "import torch\n" + TORCH_LOOP,
        fits,
    )
    base = statistics.median(run(alone))
    for name, code in (("torch imported first", before), ("stochnet first", after)):
        t = statistics.median(run(code))
        print(f"PyTorch, {name}: {t:.3f} s against {base:.3f} s alone ({t / base:.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=6)
    parser.add_argument("--only", choices=("pair", "busy", "cpu", "quota", "torch"), default=None)
    args = parser.parse_args()
    run(script(STOCHNET_FIT, "import stochnet as sn", 1))  # warm the kernel cache
    tic = time.perf_counter()
    scenarios = {
        "pair": pair,
        "busy": busy_neighbour,
        "cpu": one_cpu,
        "quota": quota,
        "torch": pytorch,
    }
    for name, scenario in scenarios.items():
        if args.only in (None, name):
            scenario(args.fits)
    print(f"({time.perf_counter() - tic:.0f} s)")


if __name__ == "__main__":
    main()
