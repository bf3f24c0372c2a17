"""PyTorch (and Keras's generator) as the peer of bench/run.ts: the seed CNN, measured the way PyTorch users
write it. Run with Debian's /usr/bin/python3 (python3-torch; python3-keras-preprocessing and python3-scipy for
`fit`). Prints one JSON line.

  /usr/bin/python3 bench/torch_peer.py steps --threads 2 --size 64 --batch-size 32 --steps 30 --repeats 3
  /usr/bin/python3 bench/torch_peer.py steps --model residual --no-single --threads 2 --steps 30 --repeats 3
  /usr/bin/python3 bench/torch_peer.py steps --model mobilenetv2 --size 96 --no-single --batch-size 16 --steps 5
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/bin/python3 bench/torch_peer.py steps ...
  /usr/bin/python3 bench/torch_peer.py fit DATA_DIR --threads 2 --epochs 2
  /usr/bin/python3 bench/torch_peer.py latency --threads 2 --size 64

`steps`: milliseconds per train step (zero_grad, forward, BCE-with-logits, backward, Adam, loss and accuracy
read back), per batch prediction (no_grad and inference_mode on NCHW input as torch.rand gives it, and
inference_mode on the same batch in channels_last memory format) and per
single-image prediction (p50/p99), each repeat a list entry. `--model residual` measures bench/residual-model.ts's
small ResNet instead (10 classes, cross-entropy on logits, softmax at prediction); `--no-single` leaves out the
single-image latencies; `--model mobilenetv2` and `--model resnet50` measure Keras's applications (their torch.nn
definitions in bench/keras_applications.py, 1000 classes). `fit`: the seed's whole fit, Keras's ImageDataGenerator (augmented training, rescaled
validation) feeding the same model, with its peak RSS. Every result names the allocator the process runs on
(`tcmalloc` when LD_PRELOAD brought it in, else `glibc`). `latency`: the seed CNN in inference_mode, serving
bench/latency.ts: each line it reads ("BATCH COUNT") is answered with one JSON line of COUNT back-to-back
predictions' milliseconds, each call timed alone after 3 untimed ones, on NCHW input and on the same batch in
channels_last memory.
"""
import argparse
import json
import resource
import sys
import time

import torch
from torch import nn

from keras_applications import KerasMobileNetV2, KerasResNet50


def peak_rss_mb():
    """This process's own memory high-water mark (VmHWM): getrusage's ru_maxrss keeps the parent's (the bench
    runner's) across fork and exec."""
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_cnn(size):
    pooled = (size - 2) // 2
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * pooled * pooled, 128), nn.ReLU(), nn.Linear(128, 1))  # sigmoid folded into the loss


def conv_bn(in_channels, filters, kernel, stride=1):
    # Keras's BatchNormalization defaults: momentum 0.99 (PyTorch's 0.01), epsilon 1e-3.
    return [nn.Conv2d(in_channels, filters, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(filters, eps=1e-3, momentum=0.01)]


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut (a 1x1 conv + BN where the shape changes), ReLU."""

    def __init__(self, in_channels, filters, stride):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(in_channels, filters, 3, stride), nn.ReLU(), *conv_bn(filters, filters, 3))
        changes = stride != 1 or in_channels != filters
        self.shortcut = nn.Sequential(*conv_bn(in_channels, filters, 1, stride)) if changes else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def residual_cnn(classes=10):
    return nn.Sequential(
        *conv_bn(3, 16, 3), nn.ReLU(), BasicBlock(16, 16, 1), BasicBlock(16, 32, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, classes))  # softmax folded into the loss


# Keras's applications written in torch.nn (bench/keras_applications.py), 1000 classes, softmax folded into the loss.
APPLICATIONS = {
    'mobilenetv2': lambda size: KerasMobileNetV2(size=size),
    'resnet50': lambda size: KerasResNet50(),
}


def binary_accuracy(logits, y):
    return ((logits > 0).float() == y).float().mean()


def sparse_accuracy(logits, y):
    return (logits.argmax(1) == y).float().mean()


def train_step(model, optimizer, loss_fn, x, y, accuracy=binary_accuracy):
    optimizer.zero_grad(set_to_none=True)
    logits = model(x)
    loss = loss_fn(logits, y)
    loss.backward()
    optimizer.step()
    return loss.item(), accuracy(logits, y).item()


def allocator():
    """`tcmalloc` when the process has it mapped (LD_PRELOAD), else `glibc`."""
    try:
        with open('/proc/self/maps') as maps:
            return 'tcmalloc' if 'libtcmalloc' in maps.read() else 'glibc'
    except OSError:
        return 'unknown'


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
    if args.model in APPLICATIONS:
        model = APPLICATIONS[args.model](args.size)
        loss_fn, accuracy, head = nn.CrossEntropyLoss(), sparse_accuracy, lambda logits: torch.softmax(logits, 1)
    elif args.model == 'residual':
        model = residual_cnn()
        loss_fn, accuracy, head = nn.CrossEntropyLoss(), sparse_accuracy, lambda logits: torch.softmax(logits, 1)
    else:
        model = seed_cnn(args.size)
        loss_fn, accuracy, head = nn.BCEWithLogitsLoss(), binary_accuracy, torch.sigmoid
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x = torch.rand(args.batch_size, 3, args.size, args.size)
    if args.model in APPLICATIONS:
        y = torch.randint(0, 1000, (args.batch_size,))
    elif args.model == 'residual':
        y = torch.randint(0, 10, (args.batch_size,))
    else:
        y = (torch.rand(args.batch_size, 1) > 0.5).float()
    single = torch.rand(1, 3, args.size, args.size)
    x_channels_last = x.contiguous(memory_format=torch.channels_last)
    result = {'train_ms': [], 'predict_no_grad_ms': [], 'predict_inference_mode_ms': [], 'predict_channels_last_ms': [],
              'single_p50_ms': [], 'single_p99_ms': []}
    for _ in range(3):
        train_step(model, optimizer, loss_fn, x, y, accuracy)  # warm-up: oneDNN primitives, Adam state
    model.eval()
    with torch.inference_mode():
        for _ in range(3):
            model(x)
    for _ in range(args.repeats):
        model.train()
        result['train_ms'].append(timed(lambda: train_step(model, optimizer, loss_fn, x, y, accuracy), args.steps))
        model.eval()
        with torch.no_grad():
            result['predict_no_grad_ms'].append(timed(lambda: head(model(x)), args.steps))
        with torch.inference_mode():
            result['predict_inference_mode_ms'].append(timed(lambda: head(model(x)), args.steps))
            result['predict_channels_last_ms'].append(timed(lambda: head(model(x_channels_last)), args.steps))
            if not args.single:
                continue
            latencies = []
            for _ in range(args.steps * 10):
                start = time.perf_counter()
                head(model(single))
                latencies.append((time.perf_counter() - start) * 1000)
            result['single_p50_ms'].append(percentile(latencies, 0.5))
            result['single_p99_ms'].append(percentile(latencies, 0.99))
    return result


def latency(args):
    torch.manual_seed(1)
    model = seed_cnn(args.size)
    # As bench/latency.ts's keras-torch side does: a few train steps at batch 32 first, so that the
    # allocator has seen a trained model's sizes (glibc's mmap threshold grows with them).
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x32, y32 = torch.rand(32, 3, args.size, args.size), (torch.rand(32, 1) > 0.5).float()
    for _ in range(3):
        train_step(model, optimizer, nn.BCEWithLogitsLoss(), x32, y32)
    model.eval()
    batches = {}
    with torch.inference_mode():
        def timed_calls(x, count):
            for _ in range(3):  # untimed: the first calls after a pause wake sleeping threads
                torch.sigmoid(model(x))
            latencies = []
            for _ in range(count):
                start = time.perf_counter()
                torch.sigmoid(model(x))
                latencies.append((time.perf_counter() - start) * 1000)
            return latencies

        print(json.dumps({'ready': True, 'allocator': allocator(), 'threads': torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            batch, count = (int(word) for word in line.split())
            if batch not in batches:
                x = torch.rand(batch, 3, args.size, args.size)
                batches[batch] = (x, x.contiguous(memory_format=torch.channels_last))
                for _ in range(3):
                    model(batches[batch][0])
                    model(batches[batch][1])
            x, x_channels_last = batches[batch]
            print(json.dumps({'nchw_ms': timed_calls(x, count), 'channels_last_ms': timed_calls(x_channels_last, count)}),
                  flush=True)


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
            'peak_rss_mb': peak_rss_mb()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('mode', choices=['steps', 'fit', 'latency'])
    parser.add_argument('directory', nargs='?')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--steps', type=int, default=30)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--model', choices=['seed', 'residual', *APPLICATIONS], default='seed')
    parser.add_argument('--single', action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.mode == 'latency':
        latency(args)
        return
    result = steps(args) if args.mode == 'steps' else fit(args)
    result['threads'] = torch.get_num_threads()
    result['torch_version'] = torch.__version__
    result['allocator'] = allocator()
    if args.mode == 'steps':
        result['peak_rss_mb'] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == '__main__':
    main()
