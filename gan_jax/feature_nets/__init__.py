"""Networks that turn images into features for the metrics, and their weights.

The FID InceptionV3 in Flax (`inception_net`, `inception`: cached weights), its converter from
pytorch-fid's `.pth` (`inception_convert`, with the torch-free pickle reader `torch_pickle`),
the domain classifiers behind MNIST-like FID (`classifier*`), and `features`, the batched
extraction loop they share. Imports `data`, `metrics`, `platform` and `errors`.
"""
