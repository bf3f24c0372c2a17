"""Keras's own ImageDataGenerator.flow_from_directory throughput, the peer of bench/pipeline.ts.

Run with Debian's /usr/bin/python3 (python3-keras-preprocessing, python3-scipy, python3-pil):
  /usr/bin/python3 bench/keras_pipeline.py DIR --epochs 3 --size 64 --batch-size 32
Prints one JSON line: {"augmented": [img/s per epoch], "rescale_only": [img/s per epoch], "samples": N}.
"""
import argparse
import contextlib
import io
import json
import time

from keras_preprocessing.image import ImageDataGenerator


def epochs_per_second(generator, directory, size, batch_size, epochs, seed):
    with contextlib.redirect_stdout(io.StringIO()):
        it = generator.flow_from_directory(directory, target_size=(size, size), batch_size=batch_size,
                                           class_mode='binary', seed=seed)
    rates = []
    for _ in range(epochs):
        start = time.perf_counter()
        for i in range(len(it)):
            it[i]
        it.on_epoch_end()
        rates.append(it.samples / (time.perf_counter() - start))
    return rates, it.samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('directory')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    seed_augmentation = ImageDataGenerator(rescale=1. / 255, shear_range=0.2, zoom_range=0.2, horizontal_flip=True)
    augmented, samples = epochs_per_second(seed_augmentation, args.directory, args.size, args.batch_size, args.epochs, args.seed)
    rescale_only, _ = epochs_per_second(ImageDataGenerator(rescale=1. / 255), args.directory, args.size,
                                        args.batch_size, args.epochs, args.seed)
    print(json.dumps({'augmented': augmented, 'rescale_only': rescale_only, 'samples': samples}))


if __name__ == '__main__':
    main()
