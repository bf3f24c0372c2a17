"""Reference outputs from Keras's own keras_preprocessing (run with /usr/bin/python3, which has it and scipy).

Reads one JSON request on stdin and writes one JSON answer on stdout:
  {"op": "apply_transform", "image": [[[...]]], "params": {...}, "generator": {...}} -> transformed image
  {"op": "standardize", "image": ..., "generator": {...}, "fit": [[[[...]]]]|null}   -> standardized image
  {"op": "flow_from_directory", "directory": ..., "generator": {...}, "options": {...}} -> listing and labels
  {"op": "load_img", "files": [...], "target_size": [h, w]|null, "color_mode": ..., "interpolation": ...}
                                                                                  -> flat uint8 pixels per file
  {"op": "load_img_each", ...the same}           -> per file {"pixels": [...]} or {"error": "..."} (never raises)
"""
import json
import sys
import contextlib
import io

import numpy as np
from keras_preprocessing.image import ImageDataGenerator, load_img


def main():
    request = json.load(sys.stdin)
    generator = ImageDataGenerator(**request.get("generator", {}))
    op = request["op"]
    if op == "apply_transform":
        x = np.asarray(request["image"], dtype="float32")
        out = generator.apply_transform(x, request["params"])
        answer = np.asarray(out, dtype="float32").tolist()
    elif op == "standardize":
        if request.get("fit") is not None:
            generator.fit(np.asarray(request["fit"], dtype="float32"))
        x = np.asarray(request["image"], dtype="float32")
        answer = generator.standardize(np.copy(x)).tolist()
    elif op == "flow_from_directory":
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            it = generator.flow_from_directory(request["directory"], **request.get("options", {}))
        batch = it[0]
        answer = {
            "printed": printed.getvalue().strip(),
            "filenames": it.filenames,
            "classes": it.classes.tolist(),
            "class_indices": it.class_indices,
            "samples": it.samples,
            "y_shape": list(batch[1].shape) if isinstance(batch, tuple) else None,
            "y_dtype": str(batch[1].dtype) if isinstance(batch, tuple) else None,
            "x_shape": list(batch[0].shape) if isinstance(batch, tuple) else list(batch.shape),
        }
    elif op == "load_img":
        target_size = request.get("target_size")
        answer = [
            np.asarray(load_img(f, color_mode=request.get("color_mode", "rgb"),
                                target_size=tuple(target_size) if target_size else None,
                                interpolation=request.get("interpolation", "nearest")), dtype="uint8").reshape(-1).tolist()
            for f in request["files"]
        ]
    elif op == "load_img_each":
        target_size = request.get("target_size")
        answer = []
        for f in request["files"]:
            try:
                img = load_img(f, color_mode=request.get("color_mode", "rgb"),
                               target_size=tuple(target_size) if target_size else None,
                               interpolation=request.get("interpolation", "nearest"))
                answer.append({"pixels": np.asarray(img, dtype="uint8").reshape(-1).tolist()})
            except Exception as error:  # noqa: BLE001 - every failure is an answer here
                answer.append({"error": "%s: %s" % (type(error).__name__, error)})
    else:
        raise ValueError("unknown op %s" % op)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
