"""`python -m pix2pix_hub.evaluate`: score a model on a paired split (the code lives in `pix2pix_hub.evaluation`)."""

from .evaluation.evaluate import cli

if __name__ == "__main__":
    cli()
