"""PyTorch reference for gan_jax's speed table (README "Speed"); needs torch, which gan_jax
does not depend on, so run it from a separate environment:

    python3 -m venv /tmp/venv/torch && /tmp/venv/torch/bin/pip install torch==2.13.0
    /tmp/venv/torch/bin/python experiments/bench/torch_ref.py --fresh_z

It times the same three networks (the layer shapes of gan_jax's celeba64, mnist_dcgan and
mnist_mlp configs), batch 64, one D step (real + fake, BCE with logits) then one G step
(non-saturating BCE), Adam(2e-4, 0.5, 0.999), and prints one JSON line per network with the
median step time over --steps steps after --warmup steps (mnist_mlp: 50x as many). By default
the G step reuses the D step's fake batch (the PyTorch DCGAN example); --fresh_z draws new noise
for it, as gan_jax does (the same math as gan_jax's step). `--device=cuda` times on a GPU
(cuDNN autotuning on, one host sync per step as below); `--bf16` runs the forward passes under
`torch.autocast(bfloat16)` (fp32 weights and optimizer, as gan_jax's `model.dtype=bfloat16`).
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn


def dcgan64():
    def up(i, o, k=4, s=2, p=1, last=False):
        layers = [nn.ConvTranspose2d(i, o, k, s, p, bias=False)]
        return layers + ([nn.Tanh()] if last else [nn.BatchNorm2d(o), nn.ReLU(True)])

    g = nn.Sequential(
        *up(100, 512, s=1, p=0), *up(512, 256), *up(256, 128), *up(128, 64), *up(64, 3, last=True)
    )

    def down(i, o, bn=True):
        layers = [nn.Conv2d(i, o, 4, 2, 1, bias=False)]
        return layers + ([nn.BatchNorm2d(o)] if bn else []) + [nn.LeakyReLU(0.2, True)]

    d = nn.Sequential(
        *down(3, 64, bn=False),
        *down(64, 128),
        *down(128, 256),
        *down(256, 512),
        nn.Conv2d(512, 1, 4, 1, 0, bias=False),
        nn.Flatten(),
    )
    return g, d, lambda b, dev: torch.randn(b, 100, 1, 1, device=dev), (3, 64, 64)


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(x.shape[0], *self.shape)


def dcgan28():
    """The TensorFlow tutorial DCGAN (gan_jax's 28-px model, width 64). TF 'SAME' 5x5 stride 2
    is torch padding=2 + output_padding=1 (same shapes and FLOPs; a one-pixel shift)."""

    def lrelu():
        return nn.LeakyReLU(0.2, True)

    g = nn.Sequential(
        nn.Linear(100, 7 * 7 * 256, bias=False),
        nn.BatchNorm1d(7 * 7 * 256),
        lrelu(),
        Reshape(256, 7, 7),
        nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False),
        nn.BatchNorm2d(128),
        lrelu(),
        nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False),
        nn.BatchNorm2d(64),
        lrelu(),
        nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False),
        nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(1, 64, 5, 2, 2),
        lrelu(),
        nn.Conv2d(64, 128, 5, 2, 2, bias=False),
        nn.BatchNorm2d(128),
        lrelu(),
        nn.Flatten(),
        nn.Linear(7 * 7 * 128, 1),
    )
    return g, d, lambda b, dev: torch.randn(b, 100, device=dev), (1, 28, 28)


def mlp():
    g = nn.Sequential(nn.Linear(100, 128), nn.LeakyReLU(0.2), nn.Linear(128, 784), nn.Tanh())
    d = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))
    return g, d, lambda b, dev: torch.randn(b, 100, device=dev), (1, 28, 28)


NETS = {"celeba64": dcgan64, "mnist_dcgan": dcgan28, "mnist_mlp": mlp}


def bench(name, batch, steps, warmup, fresh_z=False, device="cpu", bf16=False):
    g, d, noise, shape = NETS[name]()
    g, d = g.to(device), d.to(device)
    g_opt = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    real = torch.rand(batch, *shape, device=device) * 2 - 1
    ones = torch.ones(batch, 1, device=device)
    zeros = torch.zeros(batch, 1, device=device)
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=bf16)

    def loss(logits, target):
        return bce(logits.float().view(batch, 1), target)

    def step():
        with autocast:
            fake = g(noise(batch, device))
        d_opt.zero_grad(set_to_none=True)
        with autocast:
            d_loss = loss(d(real), ones) + loss(d(fake.detach()), zeros)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        with autocast:
            if fresh_z:  # new noise for the G step (gan_jax, Haiku, TF-GAN), not reusing fake
                fake = g(noise(batch, device))
            g_loss = loss(d(fake), ones)
        g_loss.backward()
        g_opt.step()
        return d_loss.item() + g_loss.item()  # a host sync, as a training loop logging losses

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return {
        "net": name,
        "fresh_z": fresh_z,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "bf16": bf16,
        "step_ms_median": round(1000 * statistics.median(times), 3),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", default="celeba64,mnist_dcgan,mnist_mlp")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--fresh_z", action="store_true", help="G step draws new z (as gan_jax)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast forward passes")
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    for name in args.nets.split(","):
        steps = args.steps * (50 if name == "mnist_mlp" else 1)
        result = bench(name, args.batch, steps, args.warmup, args.fresh_z, args.device, args.bf16)
        print(json.dumps(result), flush=True)
