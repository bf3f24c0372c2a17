"""Keras's MobileNetV2 and ResNet50 written in torch.nn, layer for layer: the PyTorch peer of bench/run.ts's
application rows, and the independent reference test/applications checks our models' outputs against.

Each Keras layer with weights is a submodule named as Keras names the layer (`Conv1`, `block_1_expand_BN`,
`conv2_block1_0_conv`), so a keras-torch model file (torch layouts, `<layer>.<weight>` names) loads with
load_state_dict. Padding is Keras's: "same" at stride 1 pads k // 2 on each side; the stride-2 convolutions
of MobileNetV2 and ResNet50 are "valid" behind an explicit ZeroPadding2D, as Keras's definitions write them.
BatchNormalization takes Keras's epsilon and momentum (torch's momentum is 1 - Keras's).
"""
import torch
from torch import nn
import torch.nn.functional as F


def keras_bn(channels, epsilon, momentum=0.99):
    return nn.BatchNorm2d(channels, eps=epsilon, momentum=1 - momentum)


def make_divisible(value, divisor=8):
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def correct_pad(size, kernel):
    """Keras's correct_pad as F.pad's (left, right, top, bottom) for a square feature map of `size`."""
    correct = kernel // 2
    adjust = 1 - size % 2
    return (correct - adjust, correct, correct - adjust, correct)


class KerasMobileNetV2(nn.Module):
    BLOCKS = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6),
              (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6),
              (320, 1, 6)]

    def __init__(self, size=224, alpha=1.0, classes=1000, include_top=True):
        super().__init__()
        self.include_top = include_top
        first = make_divisible(32 * alpha)
        self.stem_pad = correct_pad(size, 3)  # Keras's "same" at stride 2: the extra row and column at the end
        self.add_module('Conv1', nn.Conv2d(3, first, 3, stride=2, bias=False))
        self.add_module('bn_Conv1', keras_bn(first, 1e-3, 0.999))
        size = (size + 1) // 2
        self.blocks = []
        channels = first
        for block_id, (filters, stride, expansion) in enumerate(self.BLOCKS):
            prefix = f'block_{block_id}_' if block_id else 'expanded_conv_'
            out = make_divisible(int(filters * alpha))
            expanded = channels * expansion
            if block_id:
                self.add_module(f'{prefix}expand', nn.Conv2d(channels, expanded, 1, bias=False))
                self.add_module(f'{prefix}expand_BN', keras_bn(expanded, 1e-3, 0.999))
            pad = correct_pad(size, 3) if stride == 2 else (1, 1, 1, 1)
            self.add_module(f'{prefix}depthwise', nn.Conv2d(expanded, expanded, 3, stride=stride, groups=expanded, bias=False))
            self.add_module(f'{prefix}depthwise_BN', keras_bn(expanded, 1e-3, 0.999))
            self.add_module(f'{prefix}project', nn.Conv2d(expanded, out, 1, bias=False))
            self.add_module(f'{prefix}project_BN', keras_bn(out, 1e-3, 0.999))
            self.blocks.append((prefix, block_id > 0, pad, channels == out and stride == 1))
            channels = out
            size = (size + 1) // 2 if stride == 2 else size
        last = make_divisible(1280 * alpha) if alpha > 1 else 1280
        self.add_module('Conv_1', nn.Conv2d(channels, last, 1, bias=False))
        self.add_module('Conv_1_bn', keras_bn(last, 1e-3, 0.999))
        if include_top:
            self.add_module('predictions', nn.Linear(last, classes))

    def forward(self, x):
        m = self._modules
        x = F.relu6(m['bn_Conv1'](m['Conv1'](F.pad(x, self.stem_pad))))
        for prefix, expands, pad, residual in self.blocks:
            y = x
            if expands:
                y = F.relu6(m[f'{prefix}expand_BN'](m[f'{prefix}expand'](y)))
            y = F.relu6(m[f'{prefix}depthwise_BN'](m[f'{prefix}depthwise'](F.pad(y, pad))))
            y = m[f'{prefix}project_BN'](m[f'{prefix}project'](y))
            x = x + y if residual else y
        x = F.relu6(m['Conv_1_bn'](m['Conv_1'](x)))
        if not self.include_top:
            return x
        return m['predictions'](x.mean((2, 3)))  # softmax left to the loss or the caller


class KerasResNet50(nn.Module):
    STACKS = [('conv2', 64, 3, 1), ('conv3', 128, 4, 2), ('conv4', 256, 6, 2), ('conv5', 512, 3, 2)]

    def __init__(self, classes=1000, include_top=True):
        super().__init__()
        self.include_top = include_top
        self.add_module('conv1_conv', nn.Conv2d(3, 64, 7, stride=2))
        self.add_module('conv1_bn', keras_bn(64, 1.001e-5))
        self.blocks = []
        channels = 64
        for stack, filters, blocks, first_stride in self.STACKS:
            for i in range(1, blocks + 1):
                name = f'{stack}_block{i}'
                stride = first_stride if i == 1 else 1
                if i == 1:
                    self.add_module(f'{name}_0_conv', nn.Conv2d(channels, 4 * filters, 1, stride=stride))
                    self.add_module(f'{name}_0_bn', keras_bn(4 * filters, 1.001e-5))
                self.add_module(f'{name}_1_conv', nn.Conv2d(channels, filters, 1, stride=stride))
                self.add_module(f'{name}_1_bn', keras_bn(filters, 1.001e-5))
                self.add_module(f'{name}_2_conv', nn.Conv2d(filters, filters, 3, padding=1))
                self.add_module(f'{name}_2_bn', keras_bn(filters, 1.001e-5))
                self.add_module(f'{name}_3_conv', nn.Conv2d(filters, 4 * filters, 1))
                self.add_module(f'{name}_3_bn', keras_bn(4 * filters, 1.001e-5))
                self.blocks.append((name, i == 1))
                channels = 4 * filters
        if include_top:
            self.add_module('predictions', nn.Linear(2048, classes))

    def forward(self, x):
        m = self._modules
        x = F.relu(m['conv1_bn'](m['conv1_conv'](F.pad(x, (3, 3, 3, 3)))))
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)
        for name, projects in self.blocks:
            shortcut = m[f'{name}_0_bn'](m[f'{name}_0_conv'](x)) if projects else x
            y = F.relu(m[f'{name}_1_bn'](m[f'{name}_1_conv'](x)))
            y = F.relu(m[f'{name}_2_bn'](m[f'{name}_2_conv'](y)))
            y = m[f'{name}_3_bn'](m[f'{name}_3_conv'](y))
            x = F.relu(shortcut + y)
        if not self.include_top:
            return x
        return m['predictions'](x.mean((2, 3)))
