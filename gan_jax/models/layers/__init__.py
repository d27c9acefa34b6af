"""Convolution layers the models are built from, fast and correct on XLA:CPU.

`subpixel` (transposed convs as stride-1 convs + depth-to-space), `adjoint_conv` (strided convs
differentiated by their adjoint layers), `conv_layers` (the Flax modules over both),
`safe_conv` (every raw conv goes through it: avoids openxla/xla#48713).
"""
