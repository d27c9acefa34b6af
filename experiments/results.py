"""Write an ablation's table into a results page, with its provenance.

    python -m experiments.results --workdir=runs/pacgan_grid25 --page=docs/results.md \
        --section=pacgan_grid25 --fields=model.pack --published=pacgan_grid25 \
        --labels=1:GAN,2:PacGAN2,3:PacGAN3,4:PacGAN4 --title='PacGAN reproduction: grid25'

Reads WORKDIR/results.csv (written by `python -m experiments.ablate`) and WORKDIR/ablation.json
(the ablation's command, date, code version and machine). For an ablation made before
ablation.json existed, `--command` and `--code_version` state them; the machine is then this one.
Only the section between `<!-- results:SECTION -->` markers is replaced (see
`gan_jax.tools.results`).
"""

from __future__ import annotations

import os

from absl import app, flags

from experiments.cli import apply_cpu_flags, fail
from gan_jax.errors import UserError
from gan_jax.tools import ablation, results

_WORKDIR = flags.DEFINE_string("workdir", None, "An experiments.ablate workdir.")
_PAGE = flags.DEFINE_string("page", "docs/results.md", "The Markdown page to write.")
_SECTION = flags.DEFINE_string("section", None, "Section name (its markers in the page).")
_TITLE = flags.DEFINE_string("title", "", "Section heading (default: the section name).")
_FIELDS = flags.DEFINE_list("fields", [], "Sweep fields (columns of results.csv).")
_METRICS = flags.DEFINE_list("metrics", [], "Table metrics (default: by config kind).")
_PUBLISHED = flags.DEFINE_string("published", "", "Published table to compare with.")
_LABELS = flags.DEFINE_string("labels", "", "VALUE:NAME row names for --published.")
_COMMAND = flags.DEFINE_string("command", "", "The ablation command (without ablation.json).")
_VERSION = flags.DEFINE_string("code_version", "", "Its code version (without ablation.json).")
flags.mark_flags_as_required(["workdir", "section"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}", 2)
    try:
        workdir = os.path.abspath(_WORKDIR.value)
        if not _FIELDS.value:
            raise UserError("give --fields=FIELD[,FIELD] (the ablation's sweep fields)")
        rows = results.read_rows(workdir, _FIELDS.value)
        record = results.read_provenance(workdir)
        if not record:
            record = {
                "command": _COMMAND.value or "unknown",
                "code_version": _VERSION.value or "unknown",
                "machine": results.machine() + " (the machine that wrote this page)",
            }
        metrics = ablation.choose_metrics(rows, _METRICS.value)
        text = results.ablation_section(
            workdir,
            rows,
            _FIELDS.value,
            metrics,
            _TITLE.value or _SECTION.value,
            _PUBLISHED.value,
            results.parse_labels(_LABELS.value),
            record,
        )
        results.write_section(_PAGE.value, _SECTION.value, text)
    except (UserError, ValueError) as e:
        fail(str(e), 2)
    print(f"wrote section {_SECTION.value!r} of {_PAGE.value}")


if __name__ == "__main__":
    apply_cpu_flags()
    app.run(main)
