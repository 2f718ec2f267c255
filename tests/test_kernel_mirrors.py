"""``kernels/cuda`` mirrors ``kernels/cpu``: the same files, public names and signatures,
but for the differences listed here, each with its reason. A new difference fails."""

import ast
import pathlib

KERNELS = pathlib.Path(__file__).resolve().parent.parent / "stochnet" / "kernels"

#: Files one backend has and the other does not need.
ONLY_CPU_FILES = {
    "blas.py": "the CPU's matrix products: BLAS calls tiled over Numba's threads",
    "checks.py": "the parallel NaN/inf check of a large X, before any fit",
    "epilogues.py": "passes fused into a BLAS tile while it is in cache",
    "pointers.py": "raw addresses for the BLAS calls",
    "specialise.py": "casts that keep one compiled specialisation of each CPU kernel",
    "threads.py": "when a CPU loop starts a parallel region",
}
ONLY_CUDA_FILES = {
    "arrays.py": "device arrays and transfers",
    "elementwise.py": "fills and accumulations the CPU writes as loops",
    "launch.py": "launch geometry, the simulator switch, transfers",
    "reduce.py": "deterministic fixed-order sums across threads",
}

#: Public names only one backend defines, by file.
ONLY_CPU = {
    "batch.py": {"PARALLEL_COPY_BYTES": "the CPU's threshold for a parallel copy"},
    "crop.py": {
        name: "the CPU crops row by row inside the fused batch gather"
        for name in ("crop_offsets", "centre_offsets", "crop_row")
    },
    "dropout.py": {"PARALLEL_FROM": "the CPU's threshold for parallel masks"},
    "epoch.py": {
        "epoch_order": "the order of an epoch's rows, drawn on the host for the GPU (by "
        "the trainer) and in the CPU's loop of whole epochs"
    },
    "inputs.py": {
        "input_forward_activate": "the CPU fuses the first activation into the product",
        "input_weight_gradient": "the CPU fuses the first bias gradient into the next "
        "layer's delta (its GPU counterpart is input_backward)",
    },
    "optim.py": {
        name: "the CPU's vector blocking" for name in ("BLOCK", "LANES", "PARALLEL_BLOCKS")
    },
    "prune.py": {"PARALLEL_FROM": "the CPU's threshold for a parallel mask pass"},
    "rng.py": {"PARALLEL_FROM": "the CPU's threshold for parallel draws"},
}
ONLY_CUDA = {
    "batch.py": {
        "N_STATS": "per-batch scalars stay in a GPU array (no wait for the GPU)",
        "device_workspace": "the workspace's arrays on the GPU",
    },
    "crop.py": {"gather_crops": "one kernel crops the whole batch"},
    "dense.py": {
        name: "the GPU's matrix products (the CPU's are in blas.py)"
        for name in ("TILE", "matmul", "tiled_matmul", "flat_matmul", "matmul_backend")
    },
    "encoder.py": {"device_workspace": "the workspace's arrays on the GPU"},
    "inputs.py": {"input_backward": "weight and bias sums of the first layer, unfused"},
    "mlp.py": {"device_workspace": "the workspace's arrays on the GPU"},
}

#: Functions whose GPU version takes extra arguments: where the CPU returns a per-batch
#: scalar, the GPU writes it to ``stats[slot + ...]`` (so the host never waits).
GPU_WRITES_SCALARS = {
    ("batch.py", "load_targets"): ("stats", "slot"),
    ("losses.py", "output_loss"): ("losses",),
    ("optim.py", "weight_norms"): ("out", "slot", "partial"),
    ("optim.py", "optimizer_step"): ("norms", "slot", "partial"),
}
#: ... and ``epoch.update`` takes the statistics array instead of the scalars.
DIFFERENT_SIGNATURES = {("epoch.py", "update")}


def _public(path):
    """Public top-level functions (with their parameters), classes and constants."""
    names = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = tuple(a.arg for a in node.args.args)
        elif isinstance(node, ast.ClassDef):
            names[node.name] = None
        elif isinstance(node, ast.Assign):
            names.update({t.id: None for t in node.targets if isinstance(t, ast.Name)})
    return {k: v for k, v in names.items() if not k.startswith("_")}


def _files(backend):
    return {p.name for p in (KERNELS / backend).glob("*.py") if p.name != "__init__.py"}


def test_the_same_files():
    assert _files("cpu") - _files("cuda") == set(ONLY_CPU_FILES)
    assert _files("cuda") - _files("cpu") == set(ONLY_CUDA_FILES)


def test_the_same_public_names_but_the_listed_ones():
    for name in sorted(_files("cpu") & _files("cuda")):
        cpu, cuda = _public(KERNELS / "cpu" / name), _public(KERNELS / "cuda" / name)
        assert set(cpu) - set(cuda) == set(ONLY_CPU.get(name, {})), name
        assert set(cuda) - set(cpu) == set(ONLY_CUDA.get(name, {})), name


def test_the_same_signatures_but_the_listed_ones():
    for name in sorted(_files("cpu") & _files("cuda")):
        cpu, cuda = _public(KERNELS / "cpu" / name), _public(KERNELS / "cuda" / name)
        for function in sorted(set(cpu) & set(cuda)):
            ours, theirs = cpu[function], cuda[function]
            if ours is None or (name, function) in DIFFERENT_SIGNATURES:
                continue
            extra = GPU_WRITES_SCALARS.get((name, function), ())
            assert theirs == ours + extra, f"{name}: {function}{ours} vs {theirs}"


def test_the_lists_name_only_what_exists():
    """A difference that went away must leave the lists too."""
    for table, backend in ((ONLY_CPU, "cpu"), (ONLY_CUDA, "cuda")):
        for name, names in table.items():
            assert set(names) <= set(_public(KERNELS / backend / name)), name
    for name, function in [*GPU_WRITES_SCALARS, *DIFFERENT_SIGNATURES]:
        assert function in _public(KERNELS / "cuda" / name)
