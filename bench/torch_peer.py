"""PyTorch (and Keras's generator) as the peer of bench/run.ts: the seed CNN, measured the way PyTorch users
write it. Run with Debian's /usr/bin/python3 (python3-torch; python3-keras-preprocessing and python3-scipy for
`fit`). Prints one JSON line.

  /usr/bin/python3 bench/torch_peer.py steps --threads 2 --size 64 --batch-size 32 --steps 30 --repeats 3
  /usr/bin/python3 bench/torch_peer.py fit DATA_DIR --threads 2 --epochs 2

`steps`: milliseconds per train step (zero_grad, forward, BCE-with-logits, backward, Adam, loss and accuracy
read back), per batch prediction (no_grad and inference_mode on NCHW input as torch.rand gives it, and
inference_mode on the same batch in channels_last memory format) and per
single-image prediction (p50/p99), each repeat a list entry. `fit`: the seed's whole fit, Keras's
ImageDataGenerator (augmented training, rescaled validation) feeding the same model, with its peak RSS.
"""
import argparse
import json
import resource
import time

import torch
from torch import nn


def seed_cnn(size):
    pooled = (size - 2) // 2
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * pooled * pooled, 128), nn.ReLU(), nn.Linear(128, 1))  # sigmoid folded into the loss


def train_step(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad(set_to_none=True)
    logits = model(x)
    loss = loss_fn(logits, y)
    loss.backward()
    optimizer.step()
    return loss.item(), ((logits > 0).float() == y).float().mean().item()


def timed(fn, count):
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) * 1000 / count


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def steps(args):
    torch.manual_seed(1)
    model = seed_cnn(args.size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    x = torch.rand(args.batch_size, 3, args.size, args.size)
    y = (torch.rand(args.batch_size, 1) > 0.5).float()
    single = torch.rand(1, 3, args.size, args.size)
    x_channels_last = x.contiguous(memory_format=torch.channels_last)
    result = {'train_ms': [], 'predict_no_grad_ms': [], 'predict_inference_mode_ms': [], 'predict_channels_last_ms': [],
              'single_p50_ms': [], 'single_p99_ms': []}
    for _ in range(3):
        train_step(model, optimizer, loss_fn, x, y)  # warm-up: oneDNN primitives, Adam state
    model.eval()
    with torch.inference_mode():
        for _ in range(3):
            model(x)
    for _ in range(args.repeats):
        model.train()
        result['train_ms'].append(timed(lambda: train_step(model, optimizer, loss_fn, x, y), args.steps))
        model.eval()
        with torch.no_grad():
            result['predict_no_grad_ms'].append(timed(lambda: torch.sigmoid(model(x)), args.steps))
        with torch.inference_mode():
            result['predict_inference_mode_ms'].append(timed(lambda: torch.sigmoid(model(x)), args.steps))
            result['predict_channels_last_ms'].append(timed(lambda: torch.sigmoid(model(x_channels_last)), args.steps))
            latencies = []
            for _ in range(args.steps * 10):
                start = time.perf_counter()
                torch.sigmoid(model(single))
                latencies.append((time.perf_counter() - start) * 1000)
            result['single_p50_ms'].append(percentile(latencies, 0.5))
            result['single_p99_ms'].append(percentile(latencies, 0.99))
    return result


def fit(args):
    import contextlib
    import io
    import os
    from keras_preprocessing.image import ImageDataGenerator

    torch.manual_seed(1)
    train_datagen = ImageDataGenerator(rescale=1. / 255, shear_range=0.2, zoom_range=0.2, horizontal_flip=True)
    test_datagen = ImageDataGenerator(rescale=1. / 255)
    with contextlib.redirect_stdout(io.StringIO()):
        training = train_datagen.flow_from_directory(os.path.join(args.directory, 'training_set'),
                                                     target_size=(args.size, args.size), batch_size=args.batch_size,
                                                     class_mode='binary', seed=1)
        testing = test_datagen.flow_from_directory(os.path.join(args.directory, 'test_set'),
                                                   target_size=(args.size, args.size), batch_size=args.batch_size,
                                                   class_mode='binary', shuffle=False)
    model = seed_cnn(args.size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    epochs = []
    for _ in range(args.epochs):
        model.train()
        for i in range(len(training)):
            bx, by = training[i]
            x = torch.from_numpy(bx).permute(0, 3, 1, 2)
            y = torch.from_numpy(by).float().unsqueeze(1)
            train_step(model, optimizer, loss_fn, x, y)
        training.on_epoch_end()
        model.eval()
        correct, loss_sum = 0.0, 0.0
        with torch.inference_mode():
            for i in range(len(testing)):
                bx, by = testing[i]
                logits = model(torch.from_numpy(bx).permute(0, 3, 1, 2))
                y = torch.from_numpy(by).float().unsqueeze(1)
                loss_sum += loss_fn(logits, y).item() * len(by)
                correct += ((logits > 0).float() == y).float().sum().item()
        epochs.append({'val_loss': loss_sum / testing.samples, 'val_accuracy': correct / testing.samples})
    seconds = time.perf_counter() - start
    return {'seconds': seconds, 'epochs': epochs, 'train_samples': training.samples, 'test_samples': testing.samples,
            'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('mode', choices=['steps', 'fit'])
    parser.add_argument('directory', nargs='?')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--steps', type=int, default=30)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = steps(args) if args.mode == 'steps' else fit(args)
    result['threads'] = torch.get_num_threads()
    result['torch_version'] = torch.__version__
    if args.mode == 'steps':
        result['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == '__main__':
    main()
