"""``mlatlas distill``: the dataset template, a generated dataset, and a distillation run.

``template`` prints the CSV format a dataset must follow (``--out`` writes it),
``generate`` writes a labelled support-ticket dataset, and ``run`` trains a teacher, a
baseline student and a distilled student on a CSV file (or generated rows) and
compares them on held-out rows. The lab (:mod:`mlatlas.labs.distill`) is imported when
a sub-command runs, so ``mlatlas --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlatlas.cli.arguments import count, count_up_to, fraction, positive_number, whole_number
from mlatlas.cli.output import StepBars, add_json_flag, print_json, print_table
from mlatlas.errors import MlatlasError

DEFAULT_ROWS = 2000
"""Rows ``run --generate`` makes when no count is given (the lab's default)."""

MODELS = {"teacher": "teacher", "baseline": "baseline student", "student": "distilled student"}
"""The lab's progress steps (one per model trained) and their bars' labels."""


ROWS = count_up_to(1_000_000, "a million generated tickets already take minutes per epoch on a CPU")
EPOCHS = count_up_to(1_000, "the lab's models converge in tens of epochs")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``distill template``, ``distill generate`` and ``distill run`` to the command line."""
    parser = subparsers.add_parser(
        "distill",
        help="knowledge distillation lab: dataset template, data generator, teacher vs students",
        description="From a labelled CSV dataset to a BERT teacher and a student ten times smaller.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    template = commands.add_parser(
        "template",
        help="the CSV format a dataset must follow",
        description="Print the template's columns, rules and an example row per class; --out writes the CSV.",
    )
    template.add_argument("--out", type=Path, metavar="FILE", help="write the template CSV here (atomically)")
    add_json_flag(template, "instead of tables")
    template.set_defaults(handler=run_template)

    generate = commands.add_parser(
        "generate",
        help="write a generated support-ticket dataset",
        description="Generate labelled support tickets (six classes in three confusable pairs) as a CSV file.",
    )
    generate.add_argument("--rows", type=ROWS, required=True, metavar="N", help="tickets to generate")
    generate.add_argument("--out", type=Path, required=True, metavar="FILE", help="CSV file to write (atomically)")
    generate.add_argument("--seed", type=whole_number, default=0, help="random seed (default: 0)")
    generate.add_argument(
        "--noise", type=fraction, default=0.1, metavar="P", help="share of labels replaced (default: 0.1)"
    )
    add_json_flag(generate, "instead of a table")
    generate.set_defaults(handler=run_generate)

    run = commands.add_parser(
        "run",
        help="train teacher, baseline and distilled student; compare them",
        description=(
            "Train a BERT teacher on the training split, then a student (under a tenth of its size) twice on "
            "the same labelled rows: on the labels alone and with knowledge distillation. Prints held-out "
            "accuracy, macro-F1 and latency per example."
        ),
    )
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, metavar="FILE", help="a CSV file that follows the template")
    source.add_argument(
        "--generate",
        type=ROWS,
        nargs="?",
        const=DEFAULT_ROWS,
        metavar="N",
        help=f"generate N support tickets instead (default N: {DEFAULT_ROWS})",
    )
    run.add_argument("--labels", metavar="A,B,...", help="declared classes of --data; any other label is an error")
    run.add_argument(
        "--seed", type=whole_number, default=0, help="seed of data, split, weights and shuffles (default: 0)"
    )
    run.add_argument("--noise", type=fraction, default=None, metavar="P", help="label noise of --generate")
    run.add_argument("--teacher-epochs", type=EPOCHS, default=None, metavar="N", help="teacher epochs (default: 4)")
    run.add_argument("--student-epochs", type=EPOCHS, default=None, metavar="N", help="student epochs (default: 20)")
    run.add_argument(
        "--student-rows", type=count, default=None, metavar="N", help="labelled rows the students see (default: 400)"
    )
    run.add_argument("--temperature", type=positive_number, default=None, metavar="T", help="KD temperature (4)")
    run.add_argument("--alpha", type=fraction, default=None, help="weight of the soft-target loss (default: 0.5)")
    run.add_argument("--out", type=Path, metavar="DIR", help="save teacher/, baseline/ and student/ here")
    add_json_flag(run, "(with learning curves) instead of a table")
    run.add_argument(
        "--nproc",
        type=count,
        default=1,
        metavar="N",
        help="train on N processes started by torchrun (DistributedDataParallel, gloo on CPU; default: 1)",
    )
    run.set_defaults(handler=run_distill)


def run_template(args: argparse.Namespace) -> int:
    """Print (and with ``--out`` write) the dataset template."""
    from mlatlas.files import write_text
    from mlatlas.labs.distill.template import COLUMNS, RULES, template_csv

    if args.out is not None:
        write_text(args.out, template_csv())
    if args.json:
        print_json(
            {
                "columns": [{"name": c.name, "type": c.type, "description": c.description} for c in COLUMNS],
                "rules": list(RULES),
                "csv": template_csv(),
                "out": None if args.out is None else str(args.out),
            }
        )
        return 0
    columns = [{"name": c.name, "type": c.type, "description": c.description} for c in COLUMNS]
    print_table("columns", columns, {"name": "column", "type": "type", "description": "meaning"})
    print_table("rules", [{"n": i, "rule": r} for i, r in enumerate(RULES, 1)], {"n": "#", "rule": "rule"})
    print("example (one row per class):")
    print(template_csv(), end="")
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    """Write a generated dataset and print its rows per class."""
    from mlatlas.labs.distill import generate, write_csv

    data = generate(args.rows, seed=args.seed, noise=args.noise)
    write_csv(data, args.out)
    counts = data.counts()
    if args.json:
        print_json({"out": str(args.out), "rows": len(data), "seed": args.seed, "noise": args.noise, "counts": counts})
        return 0
    rows = [{"label": name, "rows": n} for name, n in counts.items()]
    print_table(f"wrote {args.out}: {len(data):,} rows", rows, {"label": "label", "rows": "rows"})
    return 0


def run_distill(args: argparse.Namespace) -> int:
    """Train the three models, print the comparison, optionally save them."""
    if args.out is not None and args.out.exists() and not (args.out.is_dir() and not any(args.out.iterdir())):
        raise MlatlasError(f"cannot write {args.out}: it exists and is not an empty folder")  # before any work
    if args.labels is not None and args.data is None:
        raise MlatlasError("--labels declares the classes of a --data file; generated data has its own")
    if args.noise is not None and args.data is not None:
        raise MlatlasError("--noise sets the label noise of --generate, not of a --data file")
    try:
        from mlatlas.labs.distill import DistillConfig, distill, distributed, read_csv
    except ImportError as error:
        raise MlatlasError(
            f"distill needs its extra dependencies ({error.name} is missing): pip install 'mlatlas[distill]'"
        ) from None
    data = None
    if args.data is not None:
        labels = None if args.labels is None else args.labels.split(",")
        data = read_csv(args.data, labels=labels)
    settings = {
        "seed": args.seed,
        "rows": args.generate,
        "noise": args.noise,
        "teacher_epochs": args.teacher_epochs,
        "student_epochs": args.student_epochs,
        "student_rows": args.student_rows,
        "temperature": args.temperature,
        "alpha": args.alpha,
    }
    config = DistillConfig(**{k: v for k, v in settings.items() if v is not None})
    if distributed.launched():
        return _run_rank(args, data, config)
    if args.nproc > 1:
        config.check()
        if config.batch_size % args.nproc:
            raise MlatlasError(f"--nproc {args.nproc} does not divide the batch size {config.batch_size}")
        distributed.launch(args.nproc, _worker_arguments(args))  # rank 0 prints and saves
        return 0
    with StepBars(MODELS) as progress:
        result = distill(data, config=config, progress=progress)
    _report(args, result, config)
    return 0


def _run_rank(args: argparse.Namespace, data, config) -> int:
    """One of torchrun's processes: train its replica; rank 0 prints and saves; a failure goes to torchrun."""
    from mlatlas.labs.distill import distill
    from mlatlas.labs.distill.distributed import process_group, record_failure

    if args.nproc > 1:
        raise MlatlasError("--nproc starts torchrun; under torchrun leave it out")
    try:
        with process_group() as group:
            if group.is_main:
                with StepBars(MODELS) as progress:
                    result = distill(data, config=config, progress=progress, group=group)
                _report(args, result, config, group)
            else:
                distill(data, config=config, group=group)
    except Exception as error:  # torchrun's agent reads it, stops the other ranks and reports it
        record_failure(error)
        return 1
    return 0


def _worker_arguments(args: argparse.Namespace) -> list[str]:
    """The ``distill run`` arguments each process gets: these ones, less ``--nproc``."""
    arguments = ["distill", "run"]
    arguments += ["--data", str(args.data)] if args.data is not None else ["--generate", str(args.generate)]
    options = {
        "--labels": args.labels,
        "--seed": args.seed,
        "--noise": args.noise,
        "--teacher-epochs": args.teacher_epochs,
        "--student-epochs": args.student_epochs,
        "--student-rows": args.student_rows,
        "--temperature": args.temperature,
        "--alpha": args.alpha,
        "--out": args.out,
    }
    for flag, value in options.items():
        if value is not None:
            arguments += [flag, str(value)]
    return arguments + (["--json"] if args.json else [])


def _report(args: argparse.Namespace, result, config, group=None) -> None:
    """Save the models if asked, then print the comparison (rank 0 only when distributed)."""
    if args.out is not None:
        result.save(args.out)
    processes = {} if group is None else {"processes": group.world_size, "backend": group.backend}
    if args.json:
        print_json({**result.summary(), "out": None if args.out is None else str(args.out), **processes})
        return
    rows = [
        {
            "model": row["model"],
            "parameters": row["parameters"],
            "size": f"{row['size_vs_teacher']:.1%}",
            "accuracy": f"{row['accuracy']:.3f}",
            "macro_f1": f"{row['macro_f1']:.3f}",
            "vs_teacher": f"{row['accuracy_vs_teacher']:.1%}",
            "latency": f"{row['latency_ms']:.2f} ms",
        }
        for row in result.table()
    ]
    labelled = min(config.student_rows, result.train_rows)
    title = (
        f"{result.source}: {result.train_rows:,} training rows (students: {labelled:,} labelled), "
        f"{result.test_rows:,} held out, {result.seconds:.0f} s"
    )
    columns = {
        "model": "model",
        "parameters": "parameters",
        "size": "size",
        "accuracy": "accuracy",
        "macro_f1": "macro-F1",
        "vs_teacher": "vs teacher",
        "latency": "latency",
    }
    print_table(title, rows, columns)
    if args.out is not None:
        print(f"saved teacher/, baseline/ and student/ in {args.out}")
    if group is not None:
        print(f"trained on {group.world_size} processes: DistributedDataParallel over {group.backend}")
