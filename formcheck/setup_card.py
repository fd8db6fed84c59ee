"""The live set-up screen's card (``coaching.SetupCard``): how to do the exercise, where to put the camera, its start and top.

Built once per exercise (the pictures come from ``pictures.py``'s cache), drawn by ``render.py``
beside the set-up message until the countdown starts.
"""

from __future__ import annotations

import numpy as np

from formcheck.coaching import SetupCard
from formcheck.lang import tr
from formcheck.spec import ExerciseSpec


def setup_card(spec: ExerciseSpec, *, with_pictures: bool = True) -> SetupCard:
    """The card for ``spec``; no pictures for a spec the synthetic body cannot draw (a user's own)."""
    pictures: tuple[tuple[str, np.ndarray], ...] = ()
    if with_pictures:
        from formcheck.pictures import POSITIONS, picture_bytes
        from formcheck.sources import load_cv2

        cv2 = load_cv2()
        pngs = picture_bytes(spec.id, spec.version, spec.kind)
        decoded = []
        for position in POSITIONS:
            if position in pngs:
                bgr = cv2.imdecode(np.frombuffer(pngs[position], np.uint8), cv2.IMREAD_COLOR)
                if bgr is not None:
                    decoded.append((tr("Start" if position == "start" else "Top"), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        pictures = tuple(decoded)
    return SetupCard(spec.title, tr(spec.instructions.strip()), tr(spec.camera.strip()), pictures)
