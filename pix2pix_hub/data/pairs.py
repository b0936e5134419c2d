"""What a paired data source is, without the readers behind it (no 🤗 datasets import: methods use it at once)."""

from __future__ import annotations

from PIL import Image


class PairSource:
    """Indexable (source, target) image pairs; subclasses say where they are stored."""

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        raise NotImplementedError

    def name(self, index: int) -> str:
        raise NotImplementedError

    def stem(self, index: int) -> str:
        """A short identifier of pair `index` (its file name without extension, or its row number)."""
        raise NotImplementedError

    @property
    def side_names(self) -> tuple[str, str]:
        """What the source and the target are called in this dataset (columns, or A/B)."""
        raise NotImplementedError


class PairView(PairSource):
    """Another source's pairs, changed by a subclass's `load` (swapped sides, class-index maps, ...)."""

    def __init__(self, pairs: PairSource):
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[Image.Image, Image.Image]:
        return self.pairs.load(index)

    def name(self, index: int) -> str:
        return self.pairs.name(index)

    def stem(self, index: int) -> str:
        return self.pairs.stem(index)

    @property
    def side_names(self) -> tuple[str, str]:
        return self.pairs.side_names
