"""BicycleGAN's networks and training step against the reference implementation's (junyanz/BicycleGAN @ 40b9d52).

Two golden files (`fixtures/reference_training/bicyclegan_*`, explained in REFERENCE_README.md sections 4 and 5):
the forwards of G (z at every level, z at the input), E (mu, logvar) and the multi-scale D built by the reference's
`define_*` calls, and three training steps of its unmodified `BiCycleGANModel`, with the z draws recorded as inputs.
Which networks, their constructor arguments, the options, steps, loss and network names are read from `cases.json`
and the tensors, so `PIX2PIX_HUB_REFERENCE_CASES=<folder>` runs these tests against another case set.

As for pix2pix and CycleGAN: on the recorded instruction set (a child process capped to it) with the reference's
Adam every tensor is bitwise equal where this CPU family reproduces the recordings, and within the README's
tolerances elsewhere; in this process, step 1 (and the forwards) within the tolerances.
"""

from __future__ import annotations

import ast
import dataclasses
import json

import pytest
import torch
from accelerate import Accelerator
from torch import nn

from pix2pix_hub.methods.base import recipe_from_args
from pix2pix_hub.methods.bicyclegan import BicycleGAN, BicycleGANRecipe
from pix2pix_hub.networks import LatentEncoder, Pix2PixGenerator, create_discriminator, load_reference_state_dict
from pix2pix_hub.training.arguments import parse_args
from tests.reference_cases import (
    ADAM_VARIANTS,
    CASES_DIR,
    CATALOGUE,
    Difference,
    assert_bitwise,
    assert_within_tolerances,
    compare_tensors,
    first_step,
    load_case,
    load_initial_weights,
    recorded_determinism,
    recorded_steps,
    report_every_run,
    run_on_recorded_cpu,
    states_after,
    step_of,
    training_cases,
)

# REFERENCE_README.md's tolerances: forward outputs atol 1e-5·max|ref|, losses rtol 1e-5 ("losses, steps 1–2";
# pix2pix-like 3e-7 at step 3, we keep 1e-5), and BicycleGAN's float64 cross-check bounds for states ("≤ 2e-4
# after step 1 and ≤ 6e-4 after step 3").
LOSS_RTOL = 1e-5
STATE_ATOL = {1: 2e-4, 3: 6e-4}
OUTPUT_ATOL_PER_ABSMAX = 1e-5

REFERENCE_FLAGS = (
    "netG",
    "nz",
    "where_add",
    "ngf",
    "upsample",
    "nl",
    "netE",
    "nef",
    "netD",
    "netD2",
    "ndf",
    "num_Ds",
    "norm",
    "gan_mode",
    "lambda_L1",
    "lambda_GAN",
    "lambda_GAN2",
    "lambda_z",
    "lambda_kl",
    "lr",
    "beta1",
    "batch_size",
    "init_type",
    "init_gain",
    "direction",
)
SWITCHES = ("use_dropout", "conditional_D", "use_same_D")
NETWORKS = {"G": "generator", "E": "encoder", "D": "discriminator", "D2": "discriminator2"}
TRAINING_CASES = training_cases("bicycle_gan")
FORWARD_CASES = sorted(
    name
    for name, case in CATALOGUE["cases"].items()
    if case.get("family") == "bicyclegan" and "constructor_calls" in case
)


def constructor_call(text: str) -> tuple[str, dict]:
    """`networks.define_G(input_nc=3, ...)  # comment` -> ("define_G", {"input_nc": 3, ...})."""
    call = ast.parse(text.split("#")[0].strip()).body[0].value
    return call.func.attr, {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}


def our_network(function: str, arguments: dict) -> nn.Module:
    """Our counterpart of a reference `define_*` call, built from the same arguments."""
    if function == "define_G":
        options = {name: arguments[name] for name in ("nz", "where_add", "upsample", "nl")}
        return Pix2PixGenerator(
            f"bicycle_{arguments['netG']}",
            arguments["input_nc"],
            arguments["output_nc"],
            arguments["ngf"],
            arguments["norm"],
            arguments["use_dropout"],
            "eval",
            options,
        )
    if function == "define_E":
        assert arguments["vaeLike"], "our encoder is the VAE-like one BiCycleGANModel builds"
        return LatentEncoder(
            arguments["netE"], arguments["input_nc"], arguments["output_nc"], arguments["ndf"], arguments["norm"]
        )
    assert function == "define_D", function
    return create_discriminator(
        arguments["netD"],
        in_channels=arguments["input_nc"],
        ndf=arguments["ndf"],
        norm=arguments["norm"],
        num_D=arguments["num_Ds"],
    )


def forward_outputs(name: str) -> tuple[dict, dict]:
    """Every network of a forward case from its stored init, run on its stored inputs; outputs by the case's keys."""
    case, reference = load_case(name)
    x, z, ours = reference["input.x"], reference["input.z"], {}
    for prefix, call in case["constructor_calls"].items():
        function, arguments = constructor_call(call)
        network = our_network(function, arguments)
        init = {
            key.removeprefix(f"init.{prefix}."): t for key, t in reference.items() if key.startswith(f"init.{prefix}.")
        }
        load_reference_state_dict(network, init, f"{case['file']}: init.{prefix}.*")
        network.train()
        with torch.no_grad():
            output = network(x, z) if function == "define_G" else network(x)
        if function == "define_E":
            ours |= {f"out.{prefix}.mu": output[0], f"out.{prefix}.logvar": output[1]}
        elif isinstance(output, list):
            ours |= {f"out.{prefix}.{scale}": verdict for scale, verdict in enumerate(output)}
        else:
            ours[f"out.{prefix}"] = output
    return reference, ours


def method_arguments(options: dict, fused_adam: bool):
    """`--method bicyclegan` flags for the reference's options, spelled as a reference user types them."""
    argv = ["--method", "bicycle_gan", "--dataset", "unused"]
    for name in REFERENCE_FLAGS:
        argv += [f"--{name}", str(options[name])]
    argv += [f"--{name}" for name in SWITCHES if options[name]]
    argv += [] if fused_adam else ["--no_fused_adam"]
    return parse_args(argv)


def record_outputs(networks: dict[str, nn.Module], images: dict) -> list:
    """Hooks naming G's and E's outputs as the reference records them, by call order within a step."""

    def on_generator(module, inputs, output):
        name = "fake_B_random" if "fake_B_encoded" in images else "fake_B_encoded"
        images.setdefault("z_encoded", inputs[1].detach().clone())
        images[name] = output.detach().clone()

    def on_encoder(module, inputs, output):
        names = ("mu2", None) if "mu" in images else ("mu", "logvar")
        images.update({name: tensor.detach().clone() for name, tensor in zip(names, output, strict=True) if name})

    return [networks["G"].register_forward_hook(on_generator), networks["E"].register_forward_hook(on_encoder)]


def run_our_steps(name: str, fused_adam: bool) -> tuple[dict, dict]:
    """Our BicycleGAN from the case's init, fed its batches and z draws; returns (reference, ours by its names)."""
    case, reference = load_case(name)
    options = case["options"]
    args = method_arguments(options, fused_adam)
    recipe, method = recipe_from_args(BicycleGANRecipe, args), BicycleGAN()
    state = method.build_networks(recipe, (options["input_nc"], options["output_nc"]), args)
    networks = {their: state.modules[ours] for their, ours in NETWORKS.items() if ours in state.modules}
    key_maps = load_initial_weights(networks, reference, case["file"])
    source, target = options["direction"].split("to")
    ours, accelerator = {}, Accelerator(cpu=True)
    for step in recorded_steps(reference):
        batch = {"source": reference[f"input.step{step}.{source}"], "target": reference[f"input.step{step}.{target}"]}
        batch |= {draw: reference[f"input.step{step}.{draw}"] for draw in ("eps", "z_random")}
        images: dict[str, torch.Tensor] = {}
        hooks = record_outputs(networks, images)
        losses = method.training_step(accelerator, state, batch, recipe)
        for handle in hooks:
            handle.remove()
        ours |= {f"loss.step{step}.{loss}": value for loss, value in losses.items()}
        ours |= {f"out.step{step}.{image}": tensor for image, tensor in images.items()}
        ours |= states_after(step, networks, key_maps)
    return reference, ours


def tolerance(name: str, reference: torch.Tensor) -> float:
    if not reference.is_floating_point():
        return 0.0
    if name.startswith("loss."):
        return LOSS_RTOL * abs(reference.item())
    if name.startswith("out."):
        return OUTPUT_ATOL_PER_ABSMAX * reference.abs().max().item()
    return STATE_ATOL[step_of(name)]


def compare_case(name: str, fused_adam: bool = False) -> list[Difference]:
    with recorded_determinism():
        reference, ours = run_our_steps(name, fused_adam) if name in TRAINING_CASES else forward_outputs(name)
    return compare_tensors(name, reference, ours, tolerance)


def test_the_case_set_holds_bicyclegan_forward_and_training_cases():
    assert FORWARD_CASES and TRAINING_CASES, f"{CASES_DIR / 'cases.json'}: no BicycleGAN cases"


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_bicyclegan_networks_on_this_cpu_match_the_reference_within_its_tolerances(case):
    differences = compare_case(case)
    assert {difference.name.split(".")[1] for difference in differences} >= {"G_all", "G_input", "E"}
    assert_within_tolerances(case, differences)


@pytest.mark.parametrize("variant", ADAM_VARIANTS)
@pytest.mark.parametrize("case", TRAINING_CASES)
def test_first_bicyclegan_step_on_this_cpu_matches_the_reference_within_its_tolerances(case, variant):
    step_one = first_step(compare_case(case, ADAM_VARIANTS[variant]))
    assert {difference.name.split(".")[0] for difference in step_one} == {"loss", "out", "after1"}
    assert_within_tolerances(f"{case} ({variant})", step_one)


def recorded_cpu_report() -> None:
    """Child-process entry point: the forward cases, and every training case under both Adams, as JSON."""
    forward = {case: [dataclasses.asdict(difference) for difference in compare_case(case)] for case in FORWARD_CASES}
    print(json.dumps({"cpu_capability": torch.backends.cpu.get_cpu_capability(), "runs": forward}))


def recorded_cpu_training_report() -> None:
    report_every_run(compare_case, TRAINING_CASES)


@pytest.fixture(scope="module")
def recorded_cpu_runs() -> dict[str, list[Difference]]:
    """All cases, run in children whose oneDNN and ATen use the recorded instruction set."""
    return run_on_recorded_cpu("tests.test_reference_bicyclegan", "recorded_cpu_report") | run_on_recorded_cpu(
        "tests.test_reference_bicyclegan", "recorded_cpu_training_report"
    )


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_bicyclegan_networks_are_bitwise_equal_to_the_reference_on_the_recorded_cpu(case, recorded_cpu_runs):
    assert_bitwise(case, recorded_cpu_runs[case])


@pytest.mark.parametrize("case", TRAINING_CASES)
def test_three_bicyclegan_steps_with_the_reference_adam_are_bitwise_equal_on_the_recorded_cpu(case, recorded_cpu_runs):
    assert_bitwise(f"{case} (reference_adam)", recorded_cpu_runs[f"{case}/reference_adam"])


@pytest.mark.parametrize("case", TRAINING_CASES)
def test_three_bicyclegan_steps_with_fused_adam_match_the_reference_on_the_recorded_cpu(case, recorded_cpu_runs):
    assert_within_tolerances(f"{case} (fused_adam)", recorded_cpu_runs[f"{case}/fused_adam"])
