"""`python -m pix2pix_hub.judges`: train or score a judge (the code lives in `pix2pix_hub.evaluation.judges`)."""

from .evaluation.judges import main

if __name__ == "__main__":
    main()
