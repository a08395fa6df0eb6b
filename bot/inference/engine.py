"""Turns image bytes into an `ImageAnalysis` in this process; the pool's workers build the same engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import imagehash
import numpy as np
from PIL import Image

from bot.config import Settings
from bot.inference.model_choice import resolve_tagger_dir, session_config
from bot.recognition.analysis import Box, ImageAnalysis, InferenceJob, RegionAnalysis
from models.anime_faces import open_anime_faces
from models.blocks import BlockExtractor, PictureBlocks, features_identity, with_mirror
from models.ccip import CcipEmbedder
from models.cnn_features import CnnFeatures
from models.download import open_detector, open_embedder
from models.face_detector import FaceDetector, expand_box
from models.intake import load_image
from models.palette import PALETTE_NAME, PALETTE_VERSION, ensure_palette_tagger
from models.quality import is_monochrome
from models.sessions import SessionConfig
from models.tagger import TagCategory, Tagger, load_tagger

FACE_MARGIN = 0.25
"""A face crop grows by this share of the box on each side, so hair and ears (who she is) stay in it."""

MIN_DRAFT_SIDE = 512
"""No JPEG is draft-decoded below this side, whatever the models' inputs (the perceptual hash reads it too)."""
FACE_DRAFT_SIDE = 1024
"""With face detection, a face crop is cut from the decoded picture: keep it large enough to feed the models."""
WORKING_SIDE_FACTOR = 2
"""The decoded picture is reduced to this many draft sides at most: hashing, tagging and face crops then work on a
bounded picture, whatever the upload's size (a 40 MP scan costs what a 4 MP one does)."""


def draft_side(tagger: Tagger, embedder: CcipEmbedder | None = None, detector: FaceDetector | None = None) -> int:
    """The JPEG draft target: about twice the largest model input, since every model downsizes further.

    A 4000x3000 JPEG then decodes at 1/2 or 1/4 scale (several times faster) instead of in full, while each
    model still resizes down from at least twice its own input.
    """
    inputs = [tagger.input_size]
    if embedder is not None:
        inputs.append(embedder.input_size)
    if detector is not None:
        inputs.extend(detector.input_size)
    side = max(MIN_DRAFT_SIDE, 2 * max(inputs))
    return max(side, FACE_DRAFT_SIDE) if detector is not None else side


def scale_box(box: Box, from_size: tuple[int, int], to_size: tuple[int, int]) -> Box:
    """Map a box from the decoded (possibly draft-reduced) picture onto the upload's own pixels."""
    scale_x, scale_y = to_size[0] / from_size[0], to_size[1] / from_size[1]
    x0, y0, x1, y1 = box
    return (
        max(0, round(x0 * scale_x)),
        max(0, round(y0 * scale_y)),
        min(to_size[0], round(x1 * scale_x)),
        min(to_size[1], round(y1 * scale_y)),
    )


class RecognitionEngine:
    """Owns the loaded models and the intake limits; synchronous, so it runs in a thread or a worker."""

    def __init__(
        self,
        tagger: Tagger,
        *,
        max_pixels: int,
        max_bytes: int | None,
        embedder: CcipEmbedder | None = None,
        detector: FaceDetector | None = None,
        draft: int | None = None,
        blocks: BlockExtractor | None = None,
    ) -> None:
        self.tagger = tagger
        self.blocks = blocks
        self.embedder = embedder
        self.detector = detector
        self.max_pixels = max_pixels
        self.max_bytes = max_bytes
        if draft is None:
            draft = draft_side(tagger, embedder, detector)
            if blocks is not None and blocks.detector is not None:
                draft = max(draft, FACE_DRAFT_SIDE)  # face and head crops are cut from the decoded picture
        self.draft = draft
        """Side of the JPEG draft target (see `draft_side`); 0 decodes every JPEG in full."""
        self._rating_columns = tagger.tags.indices(TagCategory.RATING)

    @property
    def input_side(self) -> int:
        """The largest input side among the models that read a picture (tagger, embedder, CNN)."""
        sides = [self.tagger.input_size]
        if self.embedder is not None:
            sides.append(self.embedder.input_size)
        if self.blocks is not None:
            sides.append(self.blocks.cnn.input_size)
        return max(sides)

    @property
    def tagger_identity(self) -> str:
        """Identity of the tag vectors this engine produces."""
        return self.tagger.identity

    @property
    def embedder_identity(self) -> str | None:
        """Identity of the embeddings this engine produces, None without CCIP."""
        return self.embedder.identity if self.embedder is not None else None

    def analyze(self, job: InferenceJob) -> ImageAnalysis:
        """Decode within the limits, tag (and embed) the whole picture and each detected face, hash it."""
        draft_size = (self.draft, self.draft) if self.draft > 0 else None
        loaded = load_image(
            job.image,
            max_pixels=self.max_pixels,
            max_bytes=self.max_bytes,
            draft_size=draft_size,
            max_side=WORKING_SIDE_FACTOR * max(self.draft, MIN_DRAFT_SIDE),
        )
        picture = loaded.image
        hub = loaded.hub_image  # CCIP and the face detector see the picture as imgutils hands it to them
        (whole,) = self._regions_of([picture], [None], [hub])
        picked = None
        if self.blocks is not None:
            picked = self.blocks.extract(picture, all_faces=job.detect_faces, mirror=job.mirror)
            whole = replace(whole, blocks=with_mirror(picked.blocks, picked.mirrored))
        faces: tuple[RegionAnalysis, ...] = ()
        if job.detect_faces and self.detector is not None:
            faces = self._faces(picture, loaded.original_size, hub)
        elif job.detect_faces and picked is not None and len(picked.faces) > 1:
            faces = self._block_faces(picture, loaded.original_size, picked, hub)
        face_embedding, searched = None, False
        if job.largest_face and self.detector is not None and self.embedder is not None:
            face_embedding, searched = self._largest_face(hub), True
        notes: list[str] = []
        if loaded.frame_count > 1:
            notes.append(f"animated image: used the first of {loaded.frame_count} frames")
        width, height = loaded.original_size
        return ImageAnalysis(
            tagger=self.tagger_identity,
            embedder=self.embedder_identity,
            whole=whole,
            faces=faces,
            width=width,
            height=height,
            frame_count=loaded.frame_count,
            phash=str(imagehash.phash(picture)),
            rating=self._rating(whole.tag_probs),
            notes=tuple(notes),
            features=self.blocks.identity if self.blocks is not None else None,
            faces_found=len(picked.faces) if picked is not None and self.blocks.detector is not None else None,
            nsfw=picked.nsfw if picked is not None else None,
            monochrome=is_monochrome(picture),
            input_side=self.input_side,
            face_embedding=face_embedding,
            face_searched=searched,
        )

    def _block_faces(
        self, picture: Image.Image, original_size: tuple[int, int], picked: PictureBlocks, hub: Image.Image
    ) -> tuple[RegionAnalysis, ...]:
        """Each face the blocks' detector found, tagged on its own crop and carrying its own face-box blocks."""
        grown = [expand_box(face.box, picture.size, FACE_MARGIN) for face in picked.faces]
        regions = self._regions_of(
            [picture.crop(box) for box in grown], [face.box for face in picked.faces], [hub.crop(box) for box in grown]
        )
        return tuple(
            RegionAnalysis(
                scale_box(face.box, picture.size, original_size),
                region.tag_probs,
                region.embedding,
                face.score,
                blocks=blocks,
            )
            for region, face, blocks in zip(regions, picked.faces, picked.per_face, strict=True)
        )

    def _faces(
        self, picture: Image.Image, original_size: tuple[int, int], hub: Image.Image
    ) -> tuple[RegionAnalysis, ...]:
        """Each face analysed on its own crop (grown by FACE_MARGIN), reported with its box in upload pixels."""
        detections = [
            detection
            for detection in self.detector.detect(hub)
            if detection.box[2] > detection.box[0] and detection.box[3] > detection.box[1]
        ]
        if not detections:
            return ()
        grown = [expand_box(detection.box, picture.size, FACE_MARGIN) for detection in detections]
        regions = self._regions_of(
            [picture.crop(box) for box in grown],
            [detection.box for detection in detections],
            [hub.crop(box) for box in grown],
        )
        return tuple(
            RegionAnalysis(
                scale_box(detection.box, picture.size, original_size),
                region.tag_probs,
                region.embedding,
                detection.score,
            )
            for region, detection in zip(regions, detections, strict=True)
        )

    def _largest_face(self, picture: Image.Image) -> np.ndarray | None:
        """The embedding of the largest detected face, cropped as a query's face is (FACE_MARGIN); None: no face.

        A reference keeps it so that a face crop of a query meets crops, not whole pictures.
        """
        found = (detection.box for detection in self.detector.detect(picture))
        boxes = [box for box in found if box[2] > box[0] and box[3] > box[1]]
        if not boxes:
            return None
        largest = max(boxes, key=lambda box: (box[2] - box[0]) * (box[3] - box[1]))  # the first of equals
        crop = picture.crop(expand_box(largest, picture.size, FACE_MARGIN))
        return np.asarray(self.embedder.embed_batch([crop]), dtype=np.float32)[0]

    def _regions_of(
        self, pictures: list[Image.Image], boxes: Sequence[Box | None], hub_pictures: list[Image.Image]
    ) -> list[RegionAnalysis]:
        """Tag probabilities of several pictures and embeddings of their imgutils views, in one run of each model."""
        tag_probs = np.asarray(self.tagger.predict_batch(pictures), dtype=np.float32)
        embeddings = (
            np.asarray(self.embedder.embed_batch(hub_pictures), dtype=np.float32) if self.embedder is not None else None
        )
        return [
            RegionAnalysis(
                box=box,
                tag_probs=tag_probs[index],
                embedding=embeddings[index] if embeddings is not None else None,
            )
            for index, box in enumerate(boxes)
        ]

    def _rating(self, tag_probs: np.ndarray) -> str | None:
        if self._rating_columns.size == 0:
            return None
        best = self._rating_columns[int(np.argmax(tag_probs[self._rating_columns]))]
        return self.tagger.tags.names[best]


def build_recognition_engine(settings: Settings) -> RecognitionEngine:
    """Build the engine a process needs from its settings (top-level so pool workers can call it)."""
    location = resolve_tagger_dir(settings)
    config = session_config(settings)
    tagger = load_tagger(location.directory, name=location.name, version=location.version, session_config=config)
    recognition = settings.recognition
    cache = settings.model_cache_dir
    embedder = open_embedder(recognition.embedder, cache, config) if recognition.ccip else None
    detector = open_detector(recognition.detector, cache, config) if recognition.face_detection else None
    return RecognitionEngine(
        tagger,
        max_pixels=settings.images.max_pixels,
        max_bytes=settings.images.max_bytes,
        embedder=embedder,
        detector=detector,
        blocks=build_block_extractor(settings, tagger, config) if recognition.feature_blocks else None,
    )


def build_block_extractor(settings: Settings, tagger: Tagger, config: SessionConfig) -> BlockExtractor:
    """The palette (the engine's own when it is the palette tagger), the bundled CNN and animeface if installed."""
    palette = tagger
    if tagger.identity != f"{PALETTE_NAME}@{PALETTE_VERSION}":
        directory = ensure_palette_tagger(settings.generated_model_dir)
        palette = load_tagger(directory, name=PALETTE_NAME, version=PALETTE_VERSION, session_config=config)
    return BlockExtractor(palette, CnnFeatures(config), open_anime_faces())


def expected_features(settings: Settings) -> str | None:
    """The identity of the blocks the workers will make, known without loading their models (None: no blocks)."""
    if not settings.recognition.feature_blocks:
        return None
    return features_identity(f"{PALETTE_NAME}@{PALETTE_VERSION}", CnnFeatures.identity, open_anime_faces())
