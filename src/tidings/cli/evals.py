"""`tidings eval extraction|pairs|mind|topics|stories`: quality measured on gold data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tidings.cli.common import UserError, cli_errors, emit, settings

app = typer.Typer(help="Measure quality on gold data.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Write one JSON document to stdout.")]


def _render(data: dict[str, Any]) -> None:
    for key, value in data.items():
        print(f"{key:>12}: {value:.4f}" if isinstance(value, float) else f"{key:>12}: {value}")


def _existing(path: Path) -> Path:
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    return path


@app.command()
def extraction(directory: Path, as_json: JsonOpt = False) -> None:
    """Extraction F1 on a Zyte- or Readability-layout gold set (Zyte benchmark scoring)."""
    with cli_errors():
        from tidings.eval.extraction import evaluate_extraction

        emit(evaluate_extraction(_existing(directory)), as_json, _render)


@app.command()
def pairs(path: Path, as_json: JsonOpt = False) -> None:
    """Same-story decisions on labelled article pairs: precision, recall, F1 and AUC."""
    with cli_errors():
        from tidings.eval.pairs import evaluate_pairs

        emit(evaluate_pairs(_existing(path), settings()), as_json, _render)


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


@app.command()
def stories(as_json: JsonOpt = False) -> None:
    """B-cubed precision, recall and F1 of clustering on the labelled same-day feed set (both orders)."""
    with cli_errors():
        from tidings.eval.story_gold import evaluate_gold

        forward = evaluate_gold(settings())
        backward = evaluate_gold(settings(), reverse=True)
        emit({"forward": forward, "reverse": backward}, as_json, lambda d: print(d))


@app.command()
def topics(
    ag_news: Annotated[Path | None, typer.Option("--ag-news", help="AG News test CSV.")] = None,
    bbc: Annotated[
        Path | None, typer.Option("--bbc", help="BBC News folder (one subfolder per class).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Evaluate at most this many articles per set.")] = None,
    cv: Annotated[
        bool, typer.Option("--cv", help="Cross-validate the regularisation on the example sentences.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """IPTC top-level topic accuracy on AG News and/or BBC News; --cv chooses the regularisation."""
    with cli_errors():
        import tidings.eval.topics as topic_eval

        out: dict[str, Any] = {}
        if ag_news:
            out["ag_news"] = topic_eval.evaluate_topics_ag_news(_existing(ag_news), settings(), limit=limit)
        if bbc:
            out["bbc"] = topic_eval.evaluate_topics_bbc(_existing(bbc), settings(), limit=limit)
        if cv:
            out["regularisation_cv"] = topic_eval.cross_validate_regularisation(settings())
        if not out:
            raise UserError("give --ag-news, --bbc and/or --cv")
        emit(out, as_json, lambda d: print(d))
