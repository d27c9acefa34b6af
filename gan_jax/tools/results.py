"""A results page written by commands: sections produced from ablation outputs, each with its
provenance (command, date, code version, machine), replaced in place when regenerated.

A section of a Markdown page lives between `<!-- results:NAME -->` and `<!-- /results:NAME -->`;
`write_section` replaces it (or appends it), so the rest of the page — hand-written prose,
other sections — is left alone. `experiments.ablate --results_page=PAGE` and
`python -m experiments.results` write them.

Provenance: `ablation.json` in an ablation's workdir records the command, the start date, the
code version (`git describe --always --dirty` of the checkout) and the machine when the
ablation first starts training; the section reports those, and the date of the newest run
result.

`PUBLISHED` holds reference numbers to print beside a measured table: PacGAN's Table 1 (Lin et
al. 2018, "PacGAN: The power of two samples in generative adversarial networks", mean ± std
over 10 runs; the 2-D ring and grid of `ring8_pacgan` / `grid25_pacgan`) and VEEGAN's modes and
HQ (Srivastava et al. 2017), the figures the issue and DESIGN notes quote. The PacGAN2/3 rows,
the standard deviations and the reverse KLs were transcribed without the paper's text at hand:
check them against the paper before quoting them elsewhere.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import platform
import re
import subprocess
from collections.abc import Sequence

from gan_jax.errors import UserError
from gan_jax.platform.files import write_bytes_atomic, write_json_atomic

PROVENANCE_FILE = "ablation.json"

# Published rows: name -> (modes, HQ %, reverse KL), each (mean, std) or None (not reported).
Stat = tuple[float, float | None] | None
PUBLISHED: dict[str, dict[str, tuple[Stat, Stat, Stat]]] = {
    "pacgan_ring8": {
        "GAN": ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
        "VEEGAN": ((8.0, None), (52.9, None), None),
        "PacGAN2": ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
        "PacGAN3": ((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
        "PacGAN4": ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
    },
    "pacgan_grid25": {
        "GAN": ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
        "VEEGAN": ((24.6, None), (40.0, None), None),
        "PacGAN2": ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
        "PacGAN3": ((24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
        "PacGAN4": ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01)),
    },
}
PUBLISHED_SOURCE = (
    "PacGAN (Lin et al. 2018) Table 1, mean ± std over 10 runs with the authors' networks and "
    "400k-step budget; VEEGAN (Srivastava et al. 2017), modes and HQ only. The PacGAN2/3 rows, "
    "the stds and the reverse KLs are transcribed and were not re-checked against the paper's "
    "text for this page"
)


def _git_version(cwd: str) -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return out.stdout.strip()


def machine() -> str:
    """This machine in one line: OS, CPU count, Python and jax versions."""
    import jax

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, jax {jax.__version__}"
    )


def record_provenance(workdir: str, command: str, code_dir: str) -> dict:
    """Write WORKDIR/ablation.json (command, start date, code version, machine) unless it
    exists — the first invocation's record is the one that trained the runs. Returns it."""
    path = os.path.join(workdir, PROVENANCE_FILE)
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    record = {
        "command": command,
        "started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code_version": _git_version(code_dir),
        "machine": machine(),
    }
    os.makedirs(workdir, exist_ok=True)
    write_json_atomic(record, path)
    return record


def read_provenance(workdir: str) -> dict:
    """WORKDIR/ablation.json, or {} for an ablation that predates it."""
    path = os.path.join(workdir, PROVENANCE_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def finished_date(workdir: str) -> str:
    """The UTC date of the newest run result (`*/metrics.json`) under an ablation workdir."""
    times = [
        os.path.getmtime(os.path.join(workdir, d, "metrics.json"))
        for d in os.listdir(workdir)
        if os.path.exists(os.path.join(workdir, d, "metrics.json"))
    ]
    if not times:
        return "no finished runs"
    stamp = datetime.datetime.fromtimestamp(max(times), datetime.UTC)
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def shareable(command: str) -> str:
    """`command` as a page shows it: the machine's own paths cut to what a reader replaces —
    data files `npz:/any/dir/mnist.npz` -> `npz:PATH/mnist.npz` (likewise `folder:`), absolute
    workdirs `--workdir=/any/dir/abl` -> `--workdir=runs/abl`."""
    command = re.sub(r"\b(npz|folder):(?:~|/)[^\s`]*/([^/\s'\"`]+)", r"\1:PATH/\2", command)
    return re.sub(r"--workdir=(['\"]?)/\S*/([^/\s'\"`]+)", r"--workdir=\1runs/\2", command)


def provenance_lines(record: dict, finished: str) -> str:
    """The Markdown block stating how a section's numbers were made (paths: `shareable`)."""
    command = shareable(record.get("command", "unknown (no ablation.json)"))
    return (
        "```bash\n"
        f"{command}\n"
        "```\n\n"
        f"- started: {record.get('started', 'unknown')}; last run finished: {finished}\n"
        f"- code version: `{record.get('code_version', 'unknown')}`\n"
        f"- machine: {record.get('machine', 'unknown')}\n"
    )


def _fmt(pair: Stat, percent: bool = False) -> str:
    if pair is None:
        return "–"
    mean, std = pair
    if std is None:
        return f"{mean:.1f}%" if percent else f"{mean:.3g}"
    return f"{mean:.1f} ± {std:.1f}%" if percent else f"{mean:.3g} ± {std:.2g}"


def comparison_table(
    summary: list[dict], field: str, labels: dict[str, str], published: str
) -> str:
    """Measured (mean ± std over seeds) beside the published rows, for the 2-D metrics.

    `summary` is `ablation.summarize`'s output for one sweep `field`; `labels` maps a sweep value
    label (before any [...]) to the published row's name (e.g. '4' -> 'PacGAN4'). Rows follow the
    published table; its rows with no measured counterpart (VEEGAN) show published numbers only.
    """
    reference = PUBLISHED[published]
    header = "| model | seeds | modes | HQ % | reverse KL | published modes | HQ % | reverse KL |"
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    by_name = {labels.get(str(e[field]), str(e[field])): e for e in summary}
    # The published table's row order, then measured rows it does not have.
    for name in [*reference, *(n for n in by_name if n not in reference)]:
        entry, ref = by_name.get(name), reference.get(name)
        if entry is None:
            measured = ["–"] * 4
        else:
            hq = entry.get("hq_fraction")
            diverged = f" ({entry['diverged']} diverged)" if entry["diverged"] else ""
            measured = [
                f"{entry['done']}{diverged}",
                _fmt(entry.get("modes") and entry["modes"][:2]),
                _fmt(hq and (100 * hq[0], 100 * hq[1]), percent=True),
                _fmt(entry.get("reverse_kl") and entry["reverse_kl"][:2]),
            ]
        published_cells = (
            [_fmt(ref[0]), _fmt(ref[1], percent=True), _fmt(ref[2])] if ref else ["–"] * 3
        )
        lines.append("| " + " | ".join([name, *measured, *published_cells]) + " |")
    return "\n".join(lines) + "\n"


def _markers(name: str) -> tuple[str, str]:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"section name {name!r} must be letters, digits, '_', '.', '-'")
    return f"<!-- results:{name} -->", f"<!-- /results:{name} -->"


def write_section(page: str, name: str, text: str) -> None:
    """Put `text` between the section's markers in `page` (appended when the section is new;
    the page is created when missing). Everything outside the markers is kept byte for byte."""
    start, end = _markers(name)
    block = f"{start}\n{text.rstrip()}\n{end}"
    content = ""
    if os.path.exists(page):
        with open(page) as f:
            content = f.read()
    if start in content and end in content:
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        content = head + block + tail
    else:
        content = content.rstrip("\n") + ("\n\n" if content else "") + block + "\n"
    write_bytes_atomic(content.encode(), page)


def copy_chart(workdir: str, page: str, section: str) -> str:
    """Copy WORKDIR/curves.png beside `page` as `results_SECTION.png` (atomically); return the
    path relative to the page, for the section's image link."""
    name = f"results_{section}.png"
    with open(os.path.join(workdir, "curves.png"), "rb") as f:
        write_bytes_atomic(f.read(), os.path.join(os.path.dirname(os.path.abspath(page)), name))
    return name


def section_text(
    title: str, record: dict, finished: str, table: str, notes: Sequence[str] = ()
) -> str:
    """A section: its heading, provenance, the table and notes (one paragraph each)."""
    parts = [f"### {title}\n", provenance_lines(record, finished), table]
    parts += [n.strip() + "\n" for n in notes if n.strip()]
    return "\n".join(parts)


def read_rows(workdir: str, fields: Sequence[str]) -> list[dict]:
    """An ablation's `results.csv` (one row per run): the sweep `fields` and `status` as text,
    empty cells as None, every other cell as a float when it is a number."""
    path = os.path.join(workdir, "results.csv")
    if not os.path.exists(path):
        raise UserError(f"{path} does not exist; run `python -m experiments.ablate` first")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and any(field not in rows[0] for field in fields):
        raise UserError(f"--fields {list(fields)} must be columns of {path}: {list(rows[0])}")
    text = {*fields, "status"}
    return [{k: _cell(v, k in text) for k, v in row.items()} for row in rows]


def _cell(value: str, keep_text: bool) -> str | float | None:
    if value == "":
        return None
    if keep_text:
        return value
    try:
        return float(value)
    except ValueError:
        return value


def parse_labels(text: str) -> dict[str, str]:
    """'1:GAN,4:PacGAN4' -> {'1': 'GAN', '4': 'PacGAN4'} (keys: sweep values before any [...])."""
    out = {}
    for item in filter(None, (text or "").split(",")):
        value, sep, name = item.partition(":")
        if not sep or not value or not name:
            raise UserError(f"--labels item {item!r} is not VALUE:NAME, e.g. 4:PacGAN4")
        out[value.strip()] = name.strip()
    return out


def ablation_section(
    workdir: str,
    rows: list[dict],
    fields: Sequence[str],
    metrics: Sequence[str],
    title: str,
    published: str = "",
    labels: dict[str, str] | None = None,
    record: dict | None = None,
    curves: str = "",
    image: str = "",
) -> str:
    """The page section for an ablation: provenance and its table — beside `PUBLISHED[published]`
    when given (one sweep field), else the ablation's own mean ± std table — then, when the
    runs logged evaluations, their curves (`image`, a path relative to the page, and the
    `curves` table of `gan_jax.tools.curves`)."""
    from gan_jax.tools import ablation

    record = record if record is not None else read_provenance(workdir)
    if published:
        if published not in PUBLISHED:
            raise UserError(
                f"unknown published table {published!r}; choose one of: {', '.join(PUBLISHED)}"
            )
        if len(fields) != 1:
            raise UserError("a table beside published numbers needs exactly one sweep field")
        summary = ablation.summarize(rows, fields, ("modes", "hq_fraction", "reverse_kl"))
        for entry in summary:  # '4[data.batch_size=400]' -> '4'
            entry[fields[0]] = str(entry[fields[0]]).split("[")[0]
        table = comparison_table(summary, fields[0], labels or {}, published)
        table += f"\nPublished: {PUBLISHED_SOURCE}.\n"
    else:
        table = ablation.markdown_table(ablation.summarize(rows, fields, metrics), fields, metrics)
    notes = []
    if curves:
        shown = f"![evaluation curves]({image})\n\n" if image else ""
        notes.append(f"Evaluations during training (mean ± std over seeds):\n\n{shown}{curves}")
    return section_text(title, record, finished_date(workdir), table, notes)


# What an evaluation section says about the run it scored (from the run's config.json).
RUN_FIELDS = (
    "data.source",
    "data.limit",
    "data.batch_size",
    "model.name",
    "model.num_classes",
    "model.g_width",
    "model.d_width",
    "loss",
    "augment.policy",
    "train.num_steps",
    "seed",
)


def _field(config: dict, path: str) -> object:
    node: object = config
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def evaluation_section(title: str, command: str, result: dict, config: dict, code_dir: str) -> str:
    """A page section for one evaluated checkpoint (`experiments.evaluate --results_page`): the
    command, date, code version and machine, the run's main config fields (its config.json)
    and the metrics."""
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    provenance = (
        f"```bash\n{shareable(command)}\n```\n\n- evaluated: {date}\n"
        f"- code version: `{_git_version(code_dir)}`\n- machine: {machine()}\n"
    )
    fields = [(f, _field(config, f)) for f in RUN_FIELDS]
    run = ", ".join(f"`{f}={v}`" for f, v in fields if v not in (None, "", 0) or f == "seed")
    run = shareable(run)
    about = (
        f"Step {result['step']}, {result['num_samples']} generated samples, features: "
        f"{result['features']}. The run (its config.json): {run}.\n"
    )
    skip = ("step", "features", "num_samples")
    rows = [f"| {k} | {v:.4g} |" for k, v in result.items() if k not in skip]
    table = "\n".join(["| metric | value |", "|---|---|", *rows]) + "\n"
    return "\n".join([f"### {title}\n", provenance, about, table])
