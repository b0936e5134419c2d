"""Label palettes as data: the classes of each label-map data set, in the colours its label maps hold.

One table per data set, read by everything that paints or reads label maps (the Space's sketch brushes, the
facade judge that turns label maps back into class indices), so the two can never disagree. Pure data: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelClass:
    """One class of a label map: its name and the RGB colour that encodes it."""

    name: str
    color: tuple[int, int, int]

    @property
    def hex(self) -> str:
        """The colour as CSS and Gradio's brushes write it."""
        return "#{:02x}{:02x}{:02x}".format(*self.color)


def _classes(*pairs: tuple[str, tuple[int, int, int]]) -> tuple[LabelClass, ...]:
    return tuple(LabelClass(name, color) for name, color in pairs)


# The CMP Facade Database's 12 classes in label order (class index = position; background first), coloured along
# the jet colour map as in the pix2pix facades data. The colours are the ones its JPEG label maps hold, measured in
# flat regions of the 506 train and test maps (door 207 not 208, sill 142 not 144, balcony 63 not 64, deco 159 not
# 160, shop 174 not 176: the round multiples of 16 of an ideal jet map are rare or absent in the data).
FACADE_CLASSES = _classes(
    ("background", (0, 0, 222)),
    ("facade", (0, 48, 255)),
    ("window", (0, 128, 255)),
    ("door", (0, 207, 255)),
    ("cornice", (32, 255, 224)),
    ("sill", (112, 255, 142)),
    ("balcony", (192, 255, 63)),
    ("blind", (255, 240, 0)),
    ("deco", (255, 159, 0)),
    ("molding", (255, 80, 0)),
    ("pillar", (255, 0, 0)),
    ("shop", (174, 0, 0)),
)

# The colours of the map tiles in the pix2pix maps data (Google Maps, 2016), as brushes to draw a tile with.
MAP_CLASSES = _classes(
    ("land", (232, 230, 224)),
    ("water", (176, 208, 255)),
    ("park", (200, 224, 176)),
    ("road", (255, 255, 255)),
    ("major road", (255, 235, 160)),
    ("highway", (250, 180, 90)),
)

# Cityscapes' 19 evaluated classes (trainId 0-18) in their official label colours (cityscapesScripts labels.py), in
# trainId order, after "unlabeled", the Sketch canvas's background brush. The colours are the ones the pix2pix
# Cityscapes label maps hold (a histogram of their JPEG pixels peaks at exactly these values).
CITYSCAPES_CLASSES = _classes(
    ("unlabeled", (0, 0, 0)),
    ("road", (128, 64, 128)),
    ("sidewalk", (244, 35, 232)),
    ("building", (70, 70, 70)),
    ("wall", (102, 102, 156)),
    ("fence", (190, 153, 153)),
    ("pole", (153, 153, 153)),
    ("traffic light", (250, 170, 30)),
    ("traffic sign", (220, 220, 0)),
    ("vegetation", (107, 142, 35)),
    ("terrain", (152, 251, 152)),
    ("sky", (70, 130, 180)),
    ("person", (220, 20, 60)),
    ("rider", (255, 0, 0)),
    ("car", (0, 0, 142)),
    ("truck", (0, 0, 70)),
    ("bus", (0, 60, 100)),
    ("train", (0, 80, 100)),
    ("motorcycle", (0, 0, 230)),
    ("bicycle", (119, 11, 32)),
)
CITYSCAPES_EVALUATED = CITYSCAPES_CLASSES[1:]  # class index = trainId

# The colours of Cityscapes' classes that its evaluation ignores (trainId 255): a pixel of one of these colours in a
# label map is "void" and left out of every score. (Black covers unlabeled, ego vehicle, rectification border,
# out of roi and static; polegroup shares pole's colour and license plate car's, and both count as those.)
CITYSCAPES_VOID = _classes(
    ("unlabeled", (0, 0, 0)),
    ("dynamic", (111, 74, 0)),
    ("ground", (81, 0, 81)),
    ("parking", (250, 170, 160)),
    ("rail track", (230, 150, 140)),
    ("guard rail", (180, 165, 180)),
    ("bridge", (150, 100, 100)),
    ("tunnel", (150, 120, 90)),
    ("caravan", (0, 0, 90)),
    ("trailer", (0, 0, 110)),
)
