"""The command line: the only module that imports click. Each command is options, one
library call, and domain errors turned into one line and an exit code (CONTRACT 3)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from pipeline import __version__
from pipeline.config import Settings, load_settings
from pipeline.errors import ApiError, BkJobExportError, Interrupted, OutputError, UsageError
from pipeline.flavours import API_CHOICES
from pipeline.ids import Ref, parse_ref_option, read_id_file

EXIT_USAGE, EXIT_OUTPUT, EXIT_UNUSABLE, EXIT_INTERRUPTED = 2, 1, 4, 130
_RATE = click.FloatRange(min=0, max=1)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"bkjob-export: error: {message}", err=True)
    sys.exit(code)


def _given(ctx: click.Context, names: list[str]) -> dict[str, Any]:
    """Options the user typed (defaults are left to config precedence)."""
    return {
        n: ctx.params[n]
        for n in names
        if ctx.get_parameter_source(n) == ParameterSource.COMMANDLINE
    }


_SETTING_OPTIONS = [
    "api_url", "out", "format", "concurrency", "rps", "timeout", "max_retries", "api_timezone",
    "resume", "retry_failed", "wait_finished", "metrics_file", "csv_bom", "csv_raw",
    "quiet", "verbose", "log_format", "html", "ids", "shard",
]  # fmt: skip


def fetch_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``run`` and ``fetch``."""
    opts = [
        click.option("--ids", "ids", metavar="FILE", help="CSV of IDs ('-' for stdin)."),
        click.option("--step", "steps", multiple=True, metavar="BIZ:JOB:STEP"),
        click.option("--job", "jobs", multiple=True, metavar="BIZ:JOB"),
        click.option("--out", type=click.Path(path_type=str), help="Output folder [./out]."),
        click.option("--format", type=click.Choice(["parquet", "csv", "delta"]), help="[parquet]"),
        click.option("--api-url", metavar="URL", help="ESB / API gateway base URL."),
        click.option("--config", "config", type=click.Path(path_type=Path), help="TOML file."),
        click.option("--concurrency", type=click.IntRange(min=1), help="Requests in flight [8]."),
        click.option("--rps", type=click.FloatRange(min=0, min_open=True), help="Max requests/s."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="[30 s]"),
        click.option("--max-retries", type=click.IntRange(min=0), help="[5]"),
        click.option("--api-timezone", metavar="TZ", help="Zone of API times [Asia/Shanghai]."),
        click.option("--resume", is_flag=True, help="Continue a killed run in the same OUT."),
        click.option("--retry-failed", metavar="OUT", help="Fetch again OUT's fetch_errors."),
        click.option("--wait-finished", type=click.FloatRange(min=0, min_open=True),
                     metavar="SECONDS", help="Poll unfinished steps up to SECONDS."),
        click.option("--metrics-file", metavar="PATH", help="Prometheus text file."),
        click.option("--csv-bom", is_flag=True, help="UTF-8 BOM for Excel."),
        click.option("--csv-raw", is_flag=True, help="No formula-injection guard."),
        click.option("--shard", metavar="K/N", help="Fetch only shard K (from 0) of N."),
        click.option("-q", "--quiet", is_flag=True),
        click.option("-v", "--verbose", is_flag=True),
        click.option("--log-format", type=click.Choice(["text", "json"])),
        # answers between --resume checkpoints; hidden: for tests that kill a small run
        click.option("--checkpoint-every", type=click.IntRange(min=1), hidden=True),
    ]  # fmt: skip
    for opt in reversed(opts):
        f = opt(f)
    return f


#: options of the API flavours, discovery and host logs (docs/api-flavours.md)
_API_SETTING_OPTIONS = [
    "api", "apigw_stage", "since", "until", "biz", "refresh_unfinished", "with_logs",
    "log_tail_kib",
]  # fmt: skip


def api_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--api`` and the stage of the gateway (``run``, ``fetch``, ``check``)."""
    opts = [
        click.option("--api", type=click.Choice(API_CHOICES), help="API flavour [auto]."),
        click.option("--apigw-stage", metavar="STAGE", help="API gateway stage [prod]."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def discovery_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Discovery by time window and host logs (``run``, ``fetch``)."""
    opts = [
        click.option("--since", metavar="WHEN", help="List jobs created since WHEN (1d, ISO)."),
        click.option("--until", metavar="WHEN", help="... and before WHEN [now]."),
        click.option("--biz", metavar="N[,N...]", help="Businesses to list (with --since)."),
        click.option("--refresh-unfinished", is_flag=True,
                     help="Fetch again OUT's unfinished jobs (implied by --since)."),
        click.option("--with-logs", is_flag=True, help="Log tails of failed hosts."),
        click.option("--log-tail-kib", type=click.IntRange(min=1), help="Per host [8 KiB]."),
    ]  # fmt: skip
    for opt in reversed(opts):
        f = opt(f)
    return f


def _refs(ids: str | None, steps: tuple[str, ...], jobs: tuple[str, ...]) -> list[Ref]:
    refs: list[Ref] = read_id_file(ids, sys.stdin.buffer) if ids else []
    refs += [parse_ref_option(s, "--step") for s in steps]
    refs += [parse_ref_option(j, "--job") for j in jobs]
    return refs


def _settings(ctx: click.Context, config: Path | None) -> Settings:
    given = _given(ctx, _SETTING_OPTIONS + _API_SETTING_OPTIONS)
    return load_settings(given, os.environ, config)


def _configure_logs(settings: Settings) -> None:
    from pipeline import logs

    logs.configure(verbose=settings.verbose, quiet=settings.quiet, fmt=settings.log_format,
                   secrets=settings.secrets(), stream=sys.stderr)  # fmt: skip


def _summary(result: Any, settings: Settings) -> None:
    from pipeline.logs import log

    m = result.manifest
    log.info("summary: %d steps exported, %d failed of %d requested", m.exported, m.failed,
             m.requested, extra={"event": "summary", **m.to_json()})  # fmt: skip
    if settings.quiet:
        return
    line = (
        f"{m.exported} steps exported, {m.failed} failed of {m.requested} requested -> {result.out}"
    )
    click.echo(line)
    for warning in m.warnings:
        click.echo(f"warning: {warning}")
    if m.failed:
        click.echo(f"failures are listed in {result.out / 'fetch_errors'}")
    if result.report:
        click.echo(f"report: {result.report}")


def _export(ctx: click.Context, command: str, ids: str | None, steps: tuple[str, ...],
            jobs: tuple[str, ...], config: Path | None, checkpoint_every: int | None = None,
            **_: Any) -> None:  # fmt: skip
    from pipeline.runner import Tuning, export

    settings = _settings(ctx, config)
    refs = _refs(settings.ids, steps, jobs)
    _configure_logs(settings)
    interactive = sys.stdout.isatty() and not settings.quiet
    tuning = Tuning(checkpoint_every=checkpoint_every) if checkpoint_every else None
    result = export(settings, refs, command=command, interactive=interactive, tuning=tuning)
    _summary(result, settings)
    sys.exit(result.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bkjob-export")
def cli() -> None:
    """Export BlueKing JOB (bk-job) step and host results to Parquet/CSV and an HTML report."""


@cli.command()
@fetch_options
@api_options
@discovery_options
@click.option("--html", type=click.Path(path_type=str), help="Report path [OUT/report.html].")
@click.pass_context
def run(ctx: click.Context, /, **kwargs: Any) -> None:
    """Fetch -> flatten -> write datasets -> render the report (the nightly job)."""
    _export(ctx, "run", **kwargs)


@cli.command()
@fetch_options
@api_options
@discovery_options
@click.pass_context
def fetch(ctx: click.Context, /, **kwargs: Any) -> None:
    """Fetch and write the datasets, without the report."""
    _export(ctx, "fetch", **kwargs)


@cli.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--html", type=click.Path(path_type=Path), help="Output [DATA_DIR/report.html].")
@click.option("--title", help="Report title.")
@click.option("--since", metavar="WHEN", help="Incident view from WHEN (ISO-8601 or 6h).")
@click.option("--until", metavar="WHEN", help="End of the incident window [now].")
@click.option("--biz", metavar="N[,N...]", help="Only these businesses (incident view).")
@click.option("--job", metavar="N[,N...]", help="Only these job instances (incident view).")
@click.option("--api-timezone", metavar="TZ", help="Zone of WHEN [Asia/Shanghai].")
def report(data_dir: Path, html: Path | None, **options: str | None) -> None:
    """Render the HTML report (or an incident view) from datasets already written."""
    from pipeline.report import render_report

    click.echo(f"report: {render_report(data_dir, html, **options)}")


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--jobs", type=click.IntRange(min=1), default=60, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet")
@click.option("--job3", is_flag=True, help="Simulate Job 3.x quirks.")
def demo(out: Path, seed: int, jobs: int, fmt: str, job3: bool) -> None:
    """Start the simulator on loopback and run the whole pipeline against it."""
    from pipeline.demo import run_demo

    result = run_demo(out, seed=seed, jobs=jobs, fmt=fmt, job3=job3)
    _summary(result, Settings())
    sys.exit(result.exit_code)


@cli.command()
@click.option("--api-url", metavar="URL", help="ESB / API gateway base URL.")
@click.option("--config", "config", type=click.Path(path_type=Path), help="TOML file.")
@click.option("--biz", metavar="N[,N...]", help="Businesses whose permission to check.")
@api_options
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Per call [30 s].")
@click.pass_context
def check(ctx: click.Context, /, config: Path | None, **_: Any) -> None:
    """First contact: URL, credentials, permissions, API flavour and Job generation."""
    from pipeline.check import run_check

    report = run_check(_settings(ctx, config))
    click.echo(report.text())
    sys.exit(report.exit_code)


@cli.command("fake-api")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(min=0, max=65535), default=0, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--jobs", type=click.IntRange(min=1), default=60, show_default=True)
@click.option("--job3", is_flag=True, help="Job 3.x quirks (top-level IDs, null counters).")
@click.option("--ids-out", type=click.Path(path_type=Path), help="Write the ID list here.")
@click.option("--app-code", help="Accept only this app code.")
@click.option("--app-secret", help="Accept only this app secret.")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0.0, help="Per request.")
@click.option("--timeout-rate", type=_RATE, default=0.0, help="Share of calls that hang.")
@click.option("--5xx-rate", "error_5xx_rate", type=_RATE, default=0.0, help="HTTP 502/503.")
@click.option(
    "--rate-limit-rate", "esb_rate_limit_rate", type=_RATE, default=0.0, help="ESB 1306429 answers."
)
@click.option("--gateway-429-rate", type=_RATE, default=0.0, help="Gateway 429 answers.")
@click.option("--truncated-rate", "truncated_json_rate", type=_RATE, default=0.0)
@click.option("--non-json-rate", type=_RATE, default=0.0)
@click.option("--reset-rate", type=_RATE, default=0.0, help="Connections closed unanswered.")
@click.option("--rps-limit", type=click.FloatRange(min=1), help="Server-side rate limit.")
@click.option("--fault-seed", type=int, default=0, show_default=True)
@click.option("--deny-biz", type=int, multiple=True, help="Answer 9900403 for this business.")
@click.option("--finish-after-polls", type=click.IntRange(min=0), help="Running steps finish.")
@click.option("--now", "now_text", metavar="WHEN", help="Simulated now [2026-11-28T08:00Z].")
def fake_api(host: str, port: int, seed: int, jobs: int, job3: bool, ids_out: Path | None,
             app_code: str | None, app_secret: str | None, latency_ms: float,
             rps_limit: float | None, fault_seed: int, deny_biz: tuple[int, ...],
             finish_after_polls: int | None, now_text: str | None,
             **rates: float) -> None:  # fmt: skip
    """Serve the BlueKing JOB API simulator on loopback (first stdout line: its URL)."""
    from pipeline.discovery import parse_when
    from pipeline.simulator import FaultConfig, serve_fake_api

    try:
        options: dict[str, Any] = {"latency_ms": latency_ms, "rps_limit": rps_limit, **rates}
        faults = FaultConfig(seed=fault_seed, **options)
    except ValueError as exc:
        raise UsageError(f"fake-api: {exc}") from None
    serve_fake_api(seed=seed, jobs=jobs, host=host, port=port, app_code=app_code,
                   app_secret=app_secret, ids_out=ids_out, job3=job3, faults=faults,
                   deny_biz=deny_biz, finish_after_polls=finish_after_polls,
                   now=parse_when(now_text, datetime.now(UTC), UTC, "--now") if now_text else None,
                   )  # fmt: skip


@cli.command()
@click.argument("data_dir", metavar="OUT", type=click.Path(path_type=Path))
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="How results are printed.")  # fmt: skip
@click.option("--views", "print_views", is_flag=True, help="Print the views' SQL (duckdb -init).")
def sql(data_dir: Path, file: Path | None, fmt: Any, print_views: bool) -> None:
    """Open OUT's views in DuckDB: run FILE (print its last result) or statements from stdin."""
    from pipeline.sqlshell import shell

    shell(data_dir, file, fmt=fmt, print_views=print_views, stdin=sys.stdin, out=sys.stdout)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line and the contract's exit code for every failure."""
    try:
        cli.main(args=argv, prog_name="bkjob-export", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("interrupted", EXIT_INTERRUPTED)
    except click.ClickException as exc:
        hint = " (see --help)" if isinstance(exc, click.UsageError) else ""
        _fail(exc.format_message() + hint, EXIT_USAGE)
    except UsageError as exc:
        _fail(str(exc), EXIT_USAGE)
    except OutputError as exc:
        _fail(str(exc), EXIT_OUTPUT)
    except ApiError as exc:
        _fail(exc.message, EXIT_UNUSABLE)
    except Interrupted as exc:
        _fail(str(exc), EXIT_INTERRUPTED)
    except BkJobExportError as exc:
        _fail(str(exc), EXIT_OUTPUT)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
