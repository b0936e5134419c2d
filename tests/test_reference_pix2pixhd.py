"""pix2pixHD's networks and losses against the reference's forward cases: generator outputs, every feature of every
discriminator scale, the GAN and feature-matching losses.

The golden files (`fixtures/reference_training/`, explained in its REFERENCE_README.md) were made by running
NVIDIA/pix2pixHD unmodified. Which cases exist, the reference's constructor calls and loss options, and the PyTorch
build, CPU capability and determinism settings are read from `cases.json` and the tensors, so
`PIX2PIX_HUB_REFERENCE_CASES=<folder>` runs these tests against another case set made the same way.

On the recorded instruction set (a child process capped to it) every recorded tensor is bitwise equal; on this CPU's
own kernels (AVX-512 here) oneDNN's convolutions sum in another order, and the outputs stay within the README's
tolerances (forward outputs 1e-5 x max|reference|, losses 1e-5 relative).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re

import pytest
import torch
from accelerate import Accelerator

from pix2pix_hub.methods.base import recipe_from_args
from pix2pix_hub.methods.gan import feature_matching_terms
from pix2pix_hub.methods.pix2pixhd import Pix2PixHD, Pix2PixHDRecipe
from pix2pix_hub.networks import MultiscaleDiscriminator, Pix2PixGenerator
from pix2pix_hub.networks.pix2pixhd import reference_scales_in_our_order
from pix2pix_hub.networks.reference import load_reference_state_dict
from pix2pix_hub.training.arguments import parse_args
from tests.reference_cases import (
    CASES_DIR,
    CATALOGUE,
    Difference,
    assert_bitwise,
    assert_within_tolerances,
    compare_tensors,
    load_case,
    load_initial_weights,
    recorded_determinism,
    run_on_recorded_cpu,
)
from tests.test_reference_training import tolerance  # REFERENCE_README.md's suggested tolerances

HD_CASES = sorted(name for name, case in CATALOGUE["cases"].items() if case.get("family") == "pix2pixhd")
GENERATOR_CASES = [name for name in HD_CASES if "init.G." in CATALOGUE["cases"][name]["tensor_groups"]]
DISCRIMINATOR_CASES = [name for name in HD_CASES if "init.D." in CATALOGUE["cases"][name]["tensor_groups"]]
GLOBAL_OPTIONS = ("n_downsample_global", "n_blocks_global")
LOCAL_OPTIONS = ("n_local_enhancers", "n_blocks_local")


def call_arguments(case: dict, function: str) -> dict:
    """The keyword arguments of the reference call `networks.<function>(...)` that cases.json records."""
    for text in case["constructor_calls"]:
        statement = ast.parse(text.split("#")[0].strip()).body[0]
        call = getattr(statement, "value", None)
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == function:
            return {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    raise KeyError(f"no {function} call recorded in {case['constructor_calls']}")


def loss_options(case: dict) -> dict:
    """The reference option values the loss mirror ran with ("loss options (pix2pixHD option names): a=1, ...")."""
    text = next(text for text in case["constructor_calls"] if text.startswith("loss options"))
    return {name: ast.literal_eval(value) for name, value in re.findall(r"(\w+)=([^,\s]+)", text.partition(":")[2])}


def generator_outputs(name: str) -> tuple[dict, dict]:
    """Our generator for the case's define_G call, from its init, run on its input: (reference, ours)."""
    case, reference = load_case(name)
    call = call_arguments(case, "define_G")
    option_names = GLOBAL_OPTIONS + (LOCAL_OPTIONS if call["netG"] == "local" else ())
    generator = Pix2PixGenerator(
        arch=call["netG"],
        in_channels=call["input_nc"],
        out_channels=call["output_nc"],
        ngf=call["ngf"],
        norm=call["norm"],
        use_dropout=False,  # the reference's generators have no dropout
        arch_options={option: call[option] for option in option_names},
    )
    load_initial_weights({"G": generator}, reference, case["file"])
    with torch.no_grad():
        return reference, {"out.G": generator(reference["input.x"])}


def discriminator_outputs(name: str) -> tuple[dict, dict]:
    """Our multi-scale D's features of `input.x`, and the method's losses on `input.loss.*`: (reference, ours)."""
    case, reference = load_case(name)
    call, options = call_arguments(case, "define_D"), loss_options(case)
    init = {key.removeprefix("init.D."): tensor for key, tensor in reference.items() if key.startswith("init.D.")}
    size = {"ndf": call["ndf"], "n_layers": call["n_layers_D"], "norm": call["norm"], "num_D": call["num_D"]}
    discriminator = MultiscaleDiscriminator.from_reference_state_dict(init, name, in_channels=call["input_nc"], **size)
    with torch.no_grad():
        features = discriminator(reference["input.x"])
    ours = {f"out.D{s}.layer{i}": f for s, scale in enumerate(features) for i, f in enumerate(scale)}
    return reference, ours | method_losses(reference, init, call, options)


def method_losses(reference: dict, init: dict, call: dict, options: dict) -> dict[str, torch.Tensor]:
    """`Pix2PixHD.losses` (the trainer's own) with D loaded from the case, under the reference's option names."""
    argv = ["--method", "pix2pixhd", "--dataset", "unused", "--no_stacked_discriminator", "--no_vgg_loss"]
    for flag, value in (("ndf", call["ndf"]), ("n_layers_D", options["n_layers_D"]), ("num_D", options["num_D"])):
        argv += [f"--{flag}", str(value)]
    argv += [
        "--norm",
        call["norm"],
        "--lambda_feat",
        str(options["lambda_feat"]),
        "--pool_size",
        str(options["pool_size"]),
    ]
    argv += ["--no_lsgan"] if options["no_lsgan"] else []
    argv += ["--no_ganFeat_loss"] if options["no_ganFeat_loss"] else []
    args = parse_args(argv)
    recipe = recipe_from_args(Pix2PixHDRecipe, args)
    label, real, fake = (reference[f"input.loss.{name}"] for name in ("label", "real_image", "fake_image"))
    state = Pix2PixHD().build_networks(recipe, (label.shape[1], real.shape[1]), args)
    discriminator = state.modules["discriminator"]
    load_reference_state_dict(discriminator, reference_scales_in_our_order(init, call["num_D"]))
    losses = Pix2PixHD.losses(Accelerator(cpu=True), state, recipe, label, real, fake)
    ours = {f"loss.{name}": losses[name].detach() for name in ("D_fake", "D_real", "G_GAN", "G_GAN_Feat")}
    with torch.no_grad():
        pred_real, pred_fake = discriminator(torch.cat([label, real], 1)), discriminator(torch.cat([label, fake], 1))
    terms = iter(feature_matching_terms(pred_fake, pred_real, recipe.n_layers_discriminator, recipe.lambda_feat))
    for s, scale in enumerate(pred_fake):
        ours |= {f"loss.G_GAN_Feat.D{s}.layer{i}": next(terms) for i in range(len(scale) - 1)}
        ours |= {f"out.loss.pred_real.D{s}": pred_real[s][-1], f"out.loss.pred_fake.D{s}": scale[-1]}
    return ours


def compare_case(name: str) -> list[Difference]:
    """Every tensor the case recorded (outputs, features, losses), against ours."""
    with recorded_determinism():
        reference, ours = (generator_outputs if name in GENERATOR_CASES else discriminator_outputs)(name)
    return compare_tensors(name, reference, ours, tolerance)


def test_the_case_set_holds_pix2pixhd_generator_and_discriminator_cases():
    assert GENERATOR_CASES and DISCRIMINATOR_CASES, f"{CASES_DIR / 'cases.json'}: no pix2pixHD forward cases"


@pytest.mark.parametrize("case", HD_CASES)
def test_pix2pixhd_forward_on_this_cpu_matches_the_reference_within_its_tolerances(case):
    assert_within_tolerances(case, compare_case(case))


def recorded_cpu_report() -> None:
    """Child-process entry point: every case compared, as JSON on stdout (what `run_on_recorded_cpu` reads)."""
    runs = {case: [dataclasses.asdict(difference) for difference in compare_case(case)] for case in HD_CASES}
    print(json.dumps({"cpu_capability": torch.backends.cpu.get_cpu_capability(), "runs": runs}))


@pytest.fixture(scope="module")
def recorded_cpu_runs() -> dict[str, list[Difference]]:
    """Every case, run in a child whose oneDNN and ATen use the recorded instruction set."""
    return run_on_recorded_cpu("tests.test_reference_pix2pixhd", "recorded_cpu_report")


@pytest.mark.parametrize("case", HD_CASES)
def test_pix2pixhd_forward_is_bitwise_equal_to_the_reference_on_the_recorded_cpu(case, recorded_cpu_runs):
    assert_bitwise(case, recorded_cpu_runs[case])
