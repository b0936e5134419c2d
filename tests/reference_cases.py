"""The reference implementation's golden training cases, shared by the pix2pix and CycleGAN parity tests.

`fixtures/reference_training/` (or the folder `PIX2PIX_HUB_REFERENCE_CASES` names) holds `cases.json` and one
safetensors file per case, made by running junyanz/pytorch-CycleGAN-and-pix2pix unmodified (its
REFERENCE_README.md). Everything a test needs -- which cases exist, their options, steps, network names, the
PyTorch build, CPU capability and determinism settings -- is read from there. A test module turns a case into our
tensors under the reference's names; this module loads, compares and reports, and runs a module's report in a
child process capped to the recorded instruction set (where the bitwise comparisons hold).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from pix2pix_hub.networks.reference import load_reference_state_dict, reference_key_map

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "reference_training"
CASES_DIR = Path(os.environ.get("PIX2PIX_HUB_REFERENCE_CASES", FIXTURES))
# torch.backends.cpu.get_cpu_capability() -> the oneDNN ISA cap (ONEDNN_MAX_CPU_ISA) that matches it.
ONEDNN_ISA = {"AVX2": "AVX2", "AVX512": "AVX512_CORE"}
ADAM_VARIANTS = {"fused_adam": True, "reference_adam": False}  # fused: our default; reference: --no_fused_adam
# CPUs on which the recorded-ISA runs reproduced the golden files bit for bit (CI and sessions up to 2026-12-07).
# oneDNN's AVX2 kernels block by cache size, so another CPU family (an Intel Xeon with AMX here) sums in another
# order even at the recorded ISA: last bits differ there, and Adam's first steps amplify them (the README says so).
BITWISE_CPUS = ("AMD EPYC",)


def load_catalogue() -> dict:
    path = CASES_DIR / "cases.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; PIX2PIX_HUB_REFERENCE_CASES must name a folder of reference cases")
    return json.loads(path.read_text())


CATALOGUE = load_catalogue()
# The training cases' Adam learning rate: its first update moves a weight by about lr * sign(gradient), so a
# gradient near zero whose last bits differ can move it by up to 2 * lr the other way.
ADAM_LR = {case["options"]["lr"] for case in CATALOGUE["cases"].values() if "lr" in case.get("options", {})}


def cpu_model() -> str:
    """This CPU's model name (/proc/cpuinfo)."""
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").is_file() else ""
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    return names[0] if names else "unknown"


def reproduces_recordings() -> bool:
    """Whether this CPU has reproduced the recorded numerics bit for bit (`BITWISE_CPUS`)."""
    return cpu_model().startswith(BITWISE_CPUS)


def training_cases(model: str) -> list[str]:
    """Cases in which the reference ran `--model <model>` and was fed batches step by step."""
    return sorted(
        name
        for name, case in CATALOGUE["cases"].items()
        if case.get("options", {}).get("model") == model
        and any(group.startswith("input.step") for group in case.get("tensor_groups", {}))
    )


@dataclasses.dataclass(frozen=True)
class Difference:
    """How far one of our tensors is from the reference's, and how far it may be."""

    name: str
    max_abs: float
    tolerance: float
    bitwise: bool

    def __str__(self) -> str:
        return f"{self.name}: max |ours - reference| = {self.max_abs:.3g} (tolerance {self.tolerance:.3g})"


@contextlib.contextmanager
def recorded_determinism() -> Iterator[None]:
    """The determinism settings the golden files were made under (cases.json), restored afterwards."""
    settings = CATALOGUE["determinism"]
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(settings["torch.use_deterministic_algorithms"])
    torch.set_num_threads(settings["torch.set_num_threads"])
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.set_num_threads(threads)


def load_case(name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """A case's catalogue entry and tensors, after checking the file is the one the catalogue describes."""
    case = CATALOGUE["cases"][name]
    path = CASES_DIR / case["file"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == case["sha256"], f"{path}: sha256 {digest} is not the {case['sha256']} cases.json records"
    return case, load_file(path)


def recorded_steps(tensors: dict[str, torch.Tensor]) -> list[int]:
    return sorted({int(match[1]) for key in tensors if (match := re.match(r"input\.step(\d+)\.", key))})


def step_of(name: str) -> int:
    """The training step a recorded tensor belongs to (`loss.step3.G`, `out.step1.fake_B`, `after3.D.model.0.bias`)."""
    return int(re.match(r"(?:loss\.step|out\.step|after)(\d+)\.", name)[1])


def load_initial_weights(
    networks: dict[str, nn.Module], reference: dict[str, torch.Tensor], source: str
) -> dict[str, dict[str, str]]:
    """Each network (by the reference's name) loaded from `init.<NET>.*`, in train mode; returns their key maps."""
    key_maps = {}
    for their_name, network in networks.items():
        prefix = f"init.{their_name}."
        init = {key.removeprefix(prefix): tensor for key, tensor in reference.items() if key.startswith(prefix)}
        key_maps[their_name] = reference_key_map(network, init, f"{source}: {prefix}*")
        load_reference_state_dict(network, init, f"{source}: {prefix}*")
        network.train()  # as the reference keeps them
    return key_maps


def states_after(step: int, networks: dict[str, nn.Module], key_maps: dict[str, dict[str, str]]) -> dict:
    """Our networks' state dicts under the reference's names: `after<step>.<NET>.<reference key>`."""
    return {
        f"after{step}.{their_name}.{key_maps[their_name][key]}": tensor.clone()
        for their_name, network in networks.items()
        for key, tensor in network.state_dict().items()
    }


def compare_tensors(
    name: str,
    reference: dict[str, torch.Tensor],
    ours: dict[str, torch.Tensor],
    tolerance: Callable[[str, torch.Tensor], float],
) -> list[Difference]:
    """Every tensor the reference recorded after running (losses, outputs, states), against ours."""
    recorded = {key: tensor for key, tensor in reference.items() if not key.startswith(("init.", "input."))}
    missing = sorted(set(recorded) - set(ours))
    assert not missing, f"{name}: our step produces no counterpart of {len(missing)} recorded tensors: {missing[:5]}"
    differences = []
    for key, expected in recorded.items():
        actual = ours[key]
        ours_kind, reference_kind = (actual.dtype, tuple(actual.shape)), (expected.dtype, tuple(expected.shape))
        assert ours_kind == reference_kind, f"{name}: {key} is {ours_kind}, the reference's {reference_kind}"
        max_abs = (actual.double() - expected.double()).abs().max().item() if expected.numel() else 0.0
        differences.append(Difference(key, max_abs, tolerance(key, expected), torch.equal(actual, expected)))
    return differences


def failure_report(name: str, failed: list[Difference], compared: int, what: str) -> str:
    worst = sorted(failed, key=lambda difference: difference.max_abs / (difference.tolerance or 1e-30), reverse=True)
    return "\n  ".join([f"{name}: {len(failed)} of {compared} recorded tensors {what}:", *map(str, worst[:15])])


def adam_sign_flips(difference: Difference) -> Difference:
    """On a CPU that does not reproduce the recordings: a weight after step k may differ by the tolerance plus
    2 * lr * k (each of Adam's updates of a near-zero gradient can flip); losses, outputs, statistics as before."""
    name = difference.name
    if not name.startswith("after") or name.endswith(("running_mean", "running_var", "num_batches_tracked")):
        return difference
    (lr,) = ADAM_LR
    return dataclasses.replace(difference, tolerance=difference.tolerance + 2 * lr * step_of(name))


def stepped(differences: list[Difference]) -> bool:
    return all(re.match(r"(?:loss\.step|out\.step|after)\d+\.", difference.name) for difference in differences)


def beyond_tolerance(differences: list[Difference]) -> list[Difference]:
    """The differences beyond their tolerances. On a CPU that does not reproduce the recordings, only the first
    step's, with Adam's sign flips allowed: from there on the runs part as the README says Adam makes them part."""
    if not reproduces_recordings():
        differences = first_step(differences) if stepped(differences) else differences
        differences = [adam_sign_flips(difference) for difference in differences]
    return [difference for difference in differences if difference.max_abs > difference.tolerance]


def assert_within_tolerances(run: str, differences: list[Difference]) -> None:
    failed = beyond_tolerance(differences)
    where = "" if reproduces_recordings() else f" (on {cpu_model()}, with Adam's sign flips allowed)"
    assert not failed, failure_report(run, failed, len(differences), f"differ beyond the tolerances{where}")


def assert_bitwise(run: str, differences: list[Difference]) -> None:
    """Bitwise where this CPU reproduces the recordings; elsewhere (other kernels' sums) within the tolerances."""
    if not reproduces_recordings():
        assert_within_tolerances(f"{run}, not bitwise: {cpu_model()} is not among {BITWISE_CPUS}", differences)
        return
    failed = [dataclasses.replace(difference, tolerance=0.0) for difference in differences if not difference.bitwise]
    assert not failed, failure_report(run, failed, len(differences), "are not bitwise equal")


def first_step(differences: list[Difference]) -> list[Difference]:
    """The comparisons of the first recorded step: from identical weights, rounding alone separates us."""
    first = min(step_of(difference.name) for difference in differences)
    return [difference for difference in differences if step_of(difference.name) == first]


def report_every_run(compare_case: Callable[[str, bool], list[Difference]], cases: list[str]) -> None:
    """A child's answer to `run_on_recorded_cpu`: every case under both Adams compared, as JSON on stdout."""
    runs = {
        f"{case}/{variant}": [dataclasses.asdict(difference) for difference in compare_case(case, fused_adam)]
        for case in cases
        for variant, fused_adam in ADAM_VARIANTS.items()
    }
    print(json.dumps({"cpu_capability": torch.backends.cpu.get_cpu_capability(), "runs": runs}))


def run_on_recorded_cpu(module: str, function: str) -> dict[str, list[Difference]]:
    """`module.function()` (which calls `report_every_run`) in a child whose oneDNN and ATen use the recorded ISA."""
    environment = CATALOGUE["environment"]
    if torch.__version__ != environment["torch"]:
        pytest.skip(f"the recorded numerics need PyTorch {environment['torch']}, not {torch.__version__}")
    capability = environment["cpu_capability"]
    if capability not in ONEDNN_ISA:
        pytest.skip(f"no oneDNN instruction-set cap known for the recorded CPU capability {capability}")
    child_environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ONEDNN_MAX_CPU_ISA": ONEDNN_ISA[capability],
        "ATEN_CPU_CAPABILITY": capability.lower(),
        "MKL_ENABLE_INSTRUCTIONS": capability,  # MKL (pix2pixHD's GEMMs) dispatches by CPU on its own
        "MKL_CBWR": capability,
    }
    command = [sys.executable, "-c", f"from {module} import {function} as report; report()"]
    child = subprocess.run(command, cwd=REPO, env=child_environment, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    if report["cpu_capability"] != capability:
        pytest.skip(f"this CPU cannot run the recorded capability {capability} (got {report['cpu_capability']})")
    return {run: [Difference(**fields) for fields in found] for run, found in report["runs"].items()}
