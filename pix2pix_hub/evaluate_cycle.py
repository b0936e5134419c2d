"""`python -m pix2pix_hub.evaluate_cycle`: score a CycleGAN folder (code: `pix2pix_hub.evaluation.cycle`)."""

from .evaluation.cycle import main

if __name__ == "__main__":
    main()
