"""`tidings eval extraction|pairs|mind|topics|stories`: quality measured on gold data.

The command line mounts this group through the `tidings.commands` entry point, so no module outside `eval/`
imports the evaluation package, not even the command line."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidings.cli.common import JsonOpt, UserError, cli_errors, emit, settings

if TYPE_CHECKING:
    from tidings.config import Settings

app = typer.Typer(help="Measure quality on gold data.", no_args_is_help=True)


def _render(data: dict[str, Any]) -> None:
    for key, value in data.items():
        print(f"{key:>12}: {value:.4f}" if isinstance(value, float) else f"{key:>12}: {value}")


def _existing(path: Path) -> Path:
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    return path


@app.command()
def extraction(
    directory: Path,
    as_json: JsonOpt = False,
    baseline: Annotated[bool, typer.Option(help="Also score plain trafilatura on the same pages.")] = True,
) -> None:
    """Extraction F1 of extract_html on a Zyte- or Readability-layout gold set, trafilatura beside it."""
    with cli_errors():
        from tidings.eval.extraction import chooser_cross_validation, evaluate_extraction

        result = evaluate_extraction(_existing(directory), baseline=baseline)
        result["dev_cross_validation"] = chooser_cross_validation()
        emit(result, as_json, _render_extraction)


def _render_extraction(data: dict[str, Any]) -> None:
    cv = data.pop("dev_cross_validation", {})
    _render(data)
    for name, figures in cv.get("sets", {}).items():
        chooser, base = figures["chooser"], figures["trafilatura"]
        print(
            f"dev CV {name} ({figures['pages']} pages, {cv['folds']} folds, tuned on): "
            f"F1 {chooser[0]:.4f} ± {chooser[1]:.4f}, trafilatura {base[0]:.4f} ± {base[1]:.4f}"
        )


CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache", help="Folder for the temporary stores (reused when the data is unchanged)."),
]
FoldsOpt = Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds (split by event).")]
SampleOpt = Annotated[
    int | None,
    typer.Option("--max-articles", min=1, help="Subsample a labelled set by whole events (seeded)."),
]


def _cache(path: Path | None) -> Path:
    return path or Path(tempfile.gettempdir()) / "tidings-eval"


Across = Callable[[list[Path], "Settings", Path, int, int | None], Any]
Each = Callable[[Path, "Settings", Path, int, int | None], Any]


def _labelled_sets_command(
    name: str,
    summary: str,
    paths_param: Any,
    fit_flag: Any,
    functions: Callable[[], tuple[Across, Each]],
    one_table: bool,
) -> None:
    """Register `tidings eval NAME`: labelled sets through ingest, each evaluated alone or one fit across all.

    `pairs` and `stories` differ only in their first two parameters, their functions and how they print, so
    one definition serves both; the two varying parameters are declared by their defaults, which typer reads
    like the `Annotated` ones."""

    def command(
        paths: list[Path] = paths_param,
        fit: bool = fit_flag,
        folds: FoldsOpt = 5,
        max_articles: SampleOpt = None,
        cache: CacheOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        with cli_errors():
            fitter, each = functions()
            files = [_existing(p) for p in paths]
            if fit:
                result = fitter(files, settings(), _cache(cache), folds, max_articles)
            else:
                result = {f.name: each(f, settings(), _cache(cache), folds, max_articles) for f in files}
            if one_table and (fit or len(files) == 1):  # one figure set: the fit's, or the only file's
                emit(result if fit else result[files[0].name], as_json, _render)
            else:
                emit(result, as_json, print)

    command.__doc__ = summary
    app.command(name)(command)


def _pair_functions() -> tuple[Across, Each]:
    from tidings.eval.pairs import evaluate_pairs, fit_pair_weights

    return fit_pair_weights, evaluate_pairs


def _story_functions() -> tuple[Across, Each]:
    from tidings.eval.story_gold import evaluate_stories, tune_weights

    return tune_weights, evaluate_stories


_labelled_sets_command(
    "pairs",
    "Same-story pairs through ingest: precision, recall, F1, AUC, beside the MiniLM cosine baseline.",
    typer.Argument(help="Pairs JSONL files or event-labelled JSONL sets."),
    typer.Option(False, "--fit", help="Fit the pair weights by cross-validation over every file."),
    _pair_functions,
    one_table=True,
)


@app.command()
def mind(
    directory: Path,
    train: Annotated[
        Path | None, typer.Option("--train", help="A MIND training folder to learn from first.")
    ] = None,
    method: Annotated[str, typer.Option(help="tidings, popularity or content")] = "tidings",
    as_json: JsonOpt = False,
) -> None:
    """Recommendation quality on MIND behaviors.tsv + news.tsv: AUC, MRR, nDCG@5, nDCG@10."""
    with cli_errors():
        from tidings.eval.mind import evaluate_mind

        if method not in ("tidings", "popularity", "content"):
            raise UserError("method must be tidings, popularity or content")
        result = evaluate_mind(
            _existing(directory), _existing(train) if train else None, settings(), method=method
        )
        emit(result, as_json, _render)


_labelled_sets_command(
    "stories",
    "B-cubed P/R/F1 of `tidings ingest` on labelled sets, per fold, beside all-singletons and cosine.",
    typer.Option(..., "--data", help="Event-labelled JSONL set (repeatable)."),
    typer.Option(False, "--tune", help="Choose clustering weights by cross-validation over the sets."),
    _story_functions,
    one_table=False,
)


@app.command()
def topics(
    ag_news: Annotated[Path | None, typer.Option("--ag-news", help="AG News test CSV.")] = None,
    bbc: Annotated[
        Path | None, typer.Option("--bbc", help="BBC News folder (one subfolder per class).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate at most this many articles per set.")] = None,
    cv: Annotated[
        bool,
        typer.Option(
            "--cv",
            help="Cross-validate C and the second level threshold on the example sentences.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """IPTC topic accuracy on AG News and/or BBC News; --cv chooses C and the second-level threshold."""
    with cli_errors():
        import tidings.eval.topics as topic_eval

        out: dict[str, Any] = {}
        if ag_news:
            out["ag_news"] = topic_eval.evaluate_topics_ag_news(_existing(ag_news), settings(), limit=limit)
        if bbc:
            out["bbc"] = topic_eval.evaluate_topics_bbc(_existing(bbc), settings(), limit=limit)
        if cv:
            out["regularisation_cv"] = topic_eval.cross_validate_regularisation(settings())
            out["level2_cv"] = topic_eval.cross_validate_level2(settings())
        if not out:
            raise UserError("give --ag-news, --bbc and/or --cv")
        emit(out, as_json, lambda d: print(d))
