"""experiments/colab/explore.ipynb runs headless against a freshly trained tiny checkpoint."""

import os

import pytest
from helpers import ROOT

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOK = os.path.join(ROOT, "experiments", "colab", "explore.ipynb")


def test_explore_notebook_runs_on_a_tiny_checkpoint(cgan_encoder, monkeypatch):
    pytest.importorskip("ipykernel")
    workdir, _ = cgan_encoder  # an encoder run: every cell, including encode, has work to do
    monkeypatch.setenv("GAN_JAX_WORKDIR", str(workdir))
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setenv("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")  # faster compiles, as in-process
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    gifs = [o for o in outputs if "image/gif" in o.get("data", {})]
    # sample grid, interpolation grid, class sweep, reconstructions; the interpolation GIF
    assert len(images) == 4 and len(gifs) == 1
    assert "encoder=True" in str(outputs[0].get("data", {}).get("text/plain", ""))
