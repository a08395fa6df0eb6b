"""The characters of a ranking as a lazy sequence over index rows: no record list is built per query.

Why: at 100,000 characters, collecting every visible character's record into a tuple costs more than the
ranking's maths. A ranking shows a handful; `RowRecords` looks a record up only when it is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, overload

import numpy as np

from bot.store.records import CharacterRecord

if TYPE_CHECKING:
    from bot.recognition.gallery import Gallery


class RowRecords(Sequence[CharacterRecord]):
    """The records of these character ids, read from the gallery when indexed."""

    def __init__(self, gallery: Gallery, character_ids: np.ndarray) -> None:
        self._gallery = gallery
        self.ids = np.asarray(character_ids, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> CharacterRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[CharacterRecord]: ...

    def __getitem__(self, index: int | slice) -> CharacterRecord | Sequence[CharacterRecord]:
        if isinstance(index, slice):
            return [self._gallery.record(int(i)) for i in self.ids[index]]
        return self._gallery.record(int(self.ids[index]))
