"""The FID InceptionV3 as a Flax (linen) module: the 2015-12-05 TensorFlow graph, layer for layer.

Fréchet Inception Distance (Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium") and the Inception Score (Salimans et al., 2016) are defined
by one particular network: the InceptionV3 graph `classify_image_graph_def.pb` from
`inception-2015-12-05.tgz`, used by TF-FID, TTUR and (ported to PyTorch) pytorch-fid. It differs
from the Keras/torchvision InceptionV3 in ways that change the numbers:

- 1008 output classes (ImageNet's 1000 plus 8 unused), no auxiliary classifier;
- the average pools inside the Inception blocks exclude the zero padding from the average
  (pytorch-fid's `FIDInceptionA/C/E_1`: `count_include_pad=False`);
- the pool branch of the last block (`Mixed_7c`, pytorch-fid's `FIDInceptionE_2`) is a 3x3 max
  pool, not an average pool;
- BatchNorm with epsilon 1e-3, always in inference mode (the graph's frozen statistics).

Module and parameter names mirror pytorch-fid's state dict (`Mixed_6b/branch7x7_2/conv/kernel`
is `Mixed_6b.branch7x7_2.conv.weight`), so the converter is a re-indexing. Inputs are NHWC in
the network's range [-1, 1] (see `inception.preprocess`); any spatial size >= 75 works, the FID
uses 299. Outputs: `pool3`, the 2048 global-average-pooled features (the FID features), and the
1008 `logits` (softmax of these is the Inception Score's p(y|x)).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

NUM_CLASSES = 1008
POOL3_DIM = 2048


class BasicConv2d(nn.Module):
    """Convolution (no bias) + BatchNorm (inference, eps 1e-3) + ReLU: torchvision's BasicConv2d."""

    features: int
    kernel: tuple[int, int]
    strides: int = 1
    padding: tuple[int, int] = (0, 0)
    precision: Any = jax.lax.Precision.HIGHEST

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.Conv(
            self.features,
            self.kernel,
            strides=(self.strides, self.strides),
            padding=[(p, p) for p in self.padding],
            use_bias=False,
            precision=self.precision,
            name="conv",
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
        return nn.relu(x)


def _avg_pool_3x3(x: jax.Array) -> jax.Array:
    """TF's 3x3/1 SAME average pool: the zero padding is not counted in the mean."""
    return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3(x: jax.Array, stride: int) -> jax.Array:
    padding = ((1, 1), (1, 1)) if stride == 1 else "VALID"
    return nn.max_pool(x, (3, 3), (stride, stride), padding=padding)


class _Block(nn.Module):
    precision: Any = jax.lax.Precision.HIGHEST

    def conv(self, name: str, features: int, kernel, strides: int = 1, padding=(0, 0)):
        kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
        padding = (padding, padding) if isinstance(padding, int) else padding
        return BasicConv2d(features, kernel, strides, padding, self.precision, name=name)


class InceptionA(_Block):
    """35x35 block (Mixed_5b/c/d), pytorch-fid's FIDInceptionA."""

    pool_features: int = 32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b1 = self.conv("branch1x1", 64, 1)(x)
        b5 = self.conv("branch5x5_1", 48, 1)(x)
        b5 = self.conv("branch5x5_2", 64, 5, padding=2)(b5)
        b3 = self.conv("branch3x3dbl_1", 64, 1)(x)
        b3 = self.conv("branch3x3dbl_2", 96, 3, padding=1)(b3)
        b3 = self.conv("branch3x3dbl_3", 96, 3, padding=1)(b3)
        bp = self.conv("branch_pool", self.pool_features, 1)(_avg_pool_3x3(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(_Block):
    """35x35 -> 17x17 reduction (Mixed_6a), torchvision's InceptionB."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b3 = self.conv("branch3x3", 384, 3, strides=2)(x)
        bd = self.conv("branch3x3dbl_1", 64, 1)(x)
        bd = self.conv("branch3x3dbl_2", 96, 3, padding=1)(bd)
        bd = self.conv("branch3x3dbl_3", 96, 3, strides=2)(bd)
        return jnp.concatenate([b3, bd, _max_pool_3x3(x, 2)], axis=-1)


class InceptionC(_Block):
    """17x17 block with factorized 7x7 convolutions (Mixed_6b..e), pytorch-fid's FIDInceptionC."""

    channels_7x7: int = 128

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c7 = self.channels_7x7
        b1 = self.conv("branch1x1", 192, 1)(x)
        b7 = self.conv("branch7x7_1", c7, 1)(x)
        b7 = self.conv("branch7x7_2", c7, (1, 7), padding=(0, 3))(b7)
        b7 = self.conv("branch7x7_3", 192, (7, 1), padding=(3, 0))(b7)
        bd = self.conv("branch7x7dbl_1", c7, 1)(x)
        bd = self.conv("branch7x7dbl_2", c7, (7, 1), padding=(3, 0))(bd)
        bd = self.conv("branch7x7dbl_3", c7, (1, 7), padding=(0, 3))(bd)
        bd = self.conv("branch7x7dbl_4", c7, (7, 1), padding=(3, 0))(bd)
        bd = self.conv("branch7x7dbl_5", 192, (1, 7), padding=(0, 3))(bd)
        bp = self.conv("branch_pool", 192, 1)(_avg_pool_3x3(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(_Block):
    """17x17 -> 8x8 reduction (Mixed_7a), torchvision's InceptionD."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b3 = self.conv("branch3x3_1", 192, 1)(x)
        b3 = self.conv("branch3x3_2", 320, 3, strides=2)(b3)
        b7 = self.conv("branch7x7x3_1", 192, 1)(x)
        b7 = self.conv("branch7x7x3_2", 192, (1, 7), padding=(0, 3))(b7)
        b7 = self.conv("branch7x7x3_3", 192, (7, 1), padding=(3, 0))(b7)
        b7 = self.conv("branch7x7x3_4", 192, 3, strides=2)(b7)
        return jnp.concatenate([b3, b7, _max_pool_3x3(x, 2)], axis=-1)


class InceptionE(_Block):
    """8x8 block with expanded filter banks (Mixed_7b/c), pytorch-fid's FIDInceptionE_1/E_2.

    `max_pool=True` is the graph's last block (FIDInceptionE_2): its pool branch max-pools.
    """

    max_pool: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b1 = self.conv("branch1x1", 320, 1)(x)
        b3 = self.conv("branch3x3_1", 384, 1)(x)
        b3 = jnp.concatenate(
            [
                self.conv("branch3x3_2a", 384, (1, 3), padding=(0, 1))(b3),
                self.conv("branch3x3_2b", 384, (3, 1), padding=(1, 0))(b3),
            ],
            axis=-1,
        )
        bd = self.conv("branch3x3dbl_1", 448, 1)(x)
        bd = self.conv("branch3x3dbl_2", 384, 3, padding=1)(bd)
        bd = jnp.concatenate(
            [
                self.conv("branch3x3dbl_3a", 384, (1, 3), padding=(0, 1))(bd),
                self.conv("branch3x3dbl_3b", 384, (3, 1), padding=(1, 0))(bd),
            ],
            axis=-1,
        )
        pooled = _max_pool_3x3(x, 1) if self.max_pool else _avg_pool_3x3(x)
        bp = self.conv("branch_pool", 192, 1)(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
    """The FID InceptionV3 (torchvision layout with pytorch-fid's patched blocks, 1008 classes).

    `precision` is the convolutions' and the classifier's matmul precision; HIGHEST (true
    float32) by default, so accelerators do not silently switch to TF32/bf16 passes.
    """

    precision: Any = jax.lax.Precision.HIGHEST

    @nn.compact
    def __call__(self, x: jax.Array) -> dict[str, jax.Array]:
        p = self.precision
        x = BasicConv2d(32, (3, 3), 2, precision=p, name="Conv2d_1a_3x3")(x)
        x = BasicConv2d(32, (3, 3), precision=p, name="Conv2d_2a_3x3")(x)
        x = BasicConv2d(64, (3, 3), padding=(1, 1), precision=p, name="Conv2d_2b_3x3")(x)
        x = _max_pool_3x3(x, 2)
        x = BasicConv2d(80, (1, 1), precision=p, name="Conv2d_3b_1x1")(x)
        x = BasicConv2d(192, (3, 3), precision=p, name="Conv2d_4a_3x3")(x)
        x = _max_pool_3x3(x, 2)
        x = InceptionA(p, pool_features=32, name="Mixed_5b")(x)
        x = InceptionA(p, pool_features=64, name="Mixed_5c")(x)
        x = InceptionA(p, pool_features=64, name="Mixed_5d")(x)
        x = InceptionB(p, name="Mixed_6a")(x)
        x = InceptionC(p, channels_7x7=128, name="Mixed_6b")(x)
        x = InceptionC(p, channels_7x7=160, name="Mixed_6c")(x)
        x = InceptionC(p, channels_7x7=160, name="Mixed_6d")(x)
        x = InceptionC(p, channels_7x7=192, name="Mixed_6e")(x)
        x = InceptionD(p, name="Mixed_7a")(x)
        x = InceptionE(p, max_pool=False, name="Mixed_7b")(x)
        x = InceptionE(p, max_pool=True, name="Mixed_7c")(x)
        pool3 = jnp.mean(x, axis=(1, 2))
        logits = nn.Dense(NUM_CLASSES, precision=p, name="fc")(pool3)
        return {"pool3": pool3, "logits": logits}
