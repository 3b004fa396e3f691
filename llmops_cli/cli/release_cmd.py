"""``llmops release …``: immutable semver tags per prompt, channels, gate records and bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import output
from .state import STATE

app = typer.Typer(
    help=(
        "Release prompts as immutable semver tags (prompts/<name>/v<X.Y.Z>), move channels "
        "(production, staging…) and export bundles for serving without git. See docs/releases.md."
    ),
    no_args_is_help=True,
)

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Remote = Annotated[str, typer.Option("--remote", help="Remote to push to / check against.")]


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Prompt to release, e.g. support/answer.")],
    bump: Annotated[
        str,
        typer.Option(
            "--bump",
            help="auto (from the diff against the previous release: breaking→major, feature→minor, "
            "patch→patch), or major/minor/patch. A bump below the detected impact is refused.",
        ),
    ] = "auto",
    message: Annotated[str, typer.Option("-m", "--message", help="Release note stored in the manifest.")] = "",
    push: Annotated[bool, typer.Option("--push", help="Push the new tag (never forced).")] = False,
    remote: Remote = "origin",
    gate_result: Annotated[
        str | None,
        typer.Option(
            "--gate-result",
            help="Gate/eval results JSON for HEAD (default: $LLMOPS_GATE_RESULT, else the git note "
            "refs/notes/llmops on HEAD).",
        ),
    ] = None,
    allow_no_gate: Annotated[
        bool,
        typer.Option("--allow-no-gate", help="Release even though no gate result is recorded (FAIL still refuses)."),
    ] = False,
    first: Annotated[
        str, typer.Option("--first", help="Version of a prompt's first release (e.g. 0.1.0 while unstable).")
    ] = "1.0.0",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run every check and show the version; tag nothing.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Tag the committed prompt at HEAD as its next version (checks: clean files, lint, gate, new version)."""
    from ..releases.create import create_release

    res = create_release(
        name,
        root=STATE.root,
        bump=bump,
        message=message,
        push=push,
        remote=remote,
        allow_no_gate=allow_no_gate,
        gate_result=gate_result,
        first_version=first,
        dry_run=dry_run,
    )
    if gate_result is not None and not dry_run:  # the eval that admitted it becomes the release's baseline
        from ..releases.drift import baseline_after_release

        res.warnings += baseline_after_release(res.name, res.version, gate_result, root=STATE.root)
    if as_json:
        output.print_json(res.to_dict())
        return
    what = "would release" if dry_run else "released"
    since = f" (from {res.previous}: {res.impact} → {res.bump})" if res.previous else " (first release)"
    output.print_text(f"{what} {res.name}@{res.version}  tag {res.tag}  commit {res.commit[:12]}{since}")
    for r in res.reasons:
        output.info(f"  - {output.printable(r)}")
    if res.gate and res.gate.get("verdict"):
        output.info(f"gate: {res.gate['verdict']} ({res.gate['source']})")
    else:
        output.warning("released without a gate result (--allow-no-gate)")
    if res.pushed_to:
        output.info(f"pushed {res.tag} to {res.pushed_to}")
    for w in res.warnings:
        output.info(output.printable(w))


@app.command("list")
def list_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this prompt's releases.")] = None,
    as_json: AsJson = False,
) -> None:
    """List releases with commit, gate verdict and the channels pointing at each."""
    from ..releases.create import list_releases

    rows = list_releases(STATE.root, name)
    if as_json:
        output.print_json(rows)
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("NAME", "VERSION", "COMMIT", "DATE", "GATE", "CHANNELS", "SHA256"):
        table.add_column(col, overflow="fold")
    for r in rows:
        channels = [*r["channels"], *(f"{c['channel']} (canary {c['percent']:g}%)" for c in r.get("canary", []))]
        table.add_row(
            output.cell(r["name"]),
            output.cell(r["version"]),
            output.cell(r["commit"][:12]),
            output.cell(r["date"]),
            output.cell(r["gate"] or "-"),
            output.cell(", ".join(channels)),
            output.cell((r["sha256"] or "invalid manifest")[:12]),
        )
    output.out().print(table)
    if not rows:
        output.info("no releases yet (llmops release create NAME)")


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="NAME@VERSION (a range, 'latest' or a channel also works).")],
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Read from this exported bundle instead of git tags.", dir_okay=False),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Show a release's manifest after verifying its content (exit 2 if tampered or moved)."""
    from ..releases.create import show_release

    record, prompt = show_release(ref, STATE.root, str(bundle) if bundle else None)
    manifest = record.to_json()
    if as_json:
        output.print_json({**manifest, "verified": True})
        return
    con = output.out()
    from rich.markup import escape

    con.print(f"[bold]{output.cell(prompt.name)}@{output.cell(prompt.version)}[/]  [green]verified[/]")
    keys = ("git_sha", "sha256", "model", "api_base", "api_key_env", "params", "response_format", "offline")
    for key in (*keys, "tool_choice", "parallel_tool_calls"):
        if manifest.get(key) is not None:
            con.print(f"  {key:<9} {output.cell(manifest[key])}")
    if isinstance(manifest.get("tools"), list):  # names only: the definitions are in the content
        names = ", ".join(str(t.get("name")) for t in manifest["tools"] if isinstance(t, dict))
        con.print(f"  tools     {output.cell(names)}")
    for key in ("inputs", "output", "previous", "bump", "impact", "gate"):
        if manifest.get(key) is not None:
            con.print(f"  {key:<9} {output.cell(manifest[key])}")
    if manifest.get("message"):
        con.print(f"  message   {escape(output.printable(str(manifest['message']), newlines=True))}")


@app.command("promote")
def promote_cmd(
    ref: Annotated[
        str,
        typer.Argument(
            help="NAME@VERSION to point the channel at (an older one = rollback); NAME with --finish/--abort."
        ),
    ],
    to: Annotated[str, typer.Option("--to", help="Channel: production, staging or any name.")],
    reason: Annotated[str, typer.Option("-m", "--message", help="Why (kept in the channel history).")] = "",
    push: Annotated[bool, typer.Option("--push", help="Push the channel ref (fast-forward only).")] = False,
    remote: Remote = "origin",
    canary: Annotated[
        str | None,
        typer.Option(
            "--canary",
            metavar="PERCENT",
            help="Serve VERSION to this share of keys (0 < PERCENT < 100, one decimal at most); the current "
            "version stays the stable arm. Run again to change the percent.",
        ),
    ] = None,
    finish: Annotated[bool, typer.Option("--finish", help="Promote the canary fully (channel → canary).")] = False,
    abort: Annotated[bool, typer.Option("--abort", help="Drop the canary (channel stays on stable).")] = False,
    logs: Annotated[
        list[str] | None,
        typer.Option(
            "--logs",
            help="With --finish: request logs whose canary verdict must not be ABORT (exit 1 while it is; default: "
            "$LLMOPS_LOG).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="With --finish: finish even while the verdict is ABORT (kept in the history)."),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Move a channel to a release, or run a canary on it; every move is a commit in the channel's history."""
    if finish and canary is None and not abort:
        from ..usage.finish import finish_canary

        done, verdict = finish_canary(
            ref, to, logs=logs or [], force=force, root=STATE.root, reason=reason, push=push, remote=remote
        )
        if as_json:
            output.print_json({"moved": done.to_dict(), "verdict": verdict.to_dict() if verdict else None})
            return
        if verdict is not None:
            output.info(output.printable(f"canary verdict: {verdict.line()}"))
        output.print_text(f"{to}: {done.prompt} {done.summary}")
        return
    if canary is not None or finish or abort:
        from ..releases.canary_moves import change_canary

        moved = change_canary(
            ref,
            to,
            percent=canary,
            finish=finish,
            abort=abort,
            root=STATE.root,
            reason=reason,
            push=push,
            remote=remote,
        )
        if as_json:
            output.print_json({"moved": moved.to_dict() if moved else None})
        elif moved is None:
            output.info(f"the canary of {to} already has that percent; nothing moved")
        else:
            output.print_text(f"{to}: {moved.prompt} {moved.summary}")
        return
    from ..releases.create import promote

    tag, move = promote(ref, to, root=STATE.root, reason=reason, push=push, remote=remote)
    if as_json:
        output.print_json({"tag": tag.tag, "version": str(tag.version), "moved": move.to_dict() if move else None})
        return
    if move is None:
        output.info(f"{to} already points at {tag.name}@{tag.version}; nothing moved")
        return
    prev = f" (was {move.previous})" if move.previous else ""
    output.print_text(f"{to}: {tag.name} → {tag.version}{prev}")


@app.command("baseline")
def baseline_cmd(
    ref: Annotated[str, typer.Argument(help="NAME@VERSION of the release.")],
    results: Annotated[Path, typer.Argument(help="The eval results file that admitted it (llmops eval run --out).")],
    as_json: AsJson = False,
) -> None:
    """Record a release's eval baseline (per-case scores, model price) as a git note on its tag, for
    `llmops eval drift` and the price check of `llmops usage check`."""
    from ..releases.drift import NOTES_REF, record_baseline

    b = record_baseline(ref, str(results), root=STATE.root)
    if as_json:
        output.print_json({"prompt": b.prompt, "version": b.version, "cases": len(b.cases), "sha256": b.sha256})
        return
    output.print_text(f"{b.prompt}@{b.version}: baseline of {len(b.cases)} cases recorded ({NOTES_REF})")
    output.info(f"share it: git push origin {NOTES_REF}")


@app.command("history")
def history_cmd(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel (default: all).")] = None,
    as_json: AsJson = False,
) -> None:
    """Show the moves of a prompt's channels, newest first."""
    from ..releases.actions import channel_history

    moves = channel_history(STATE.root, name, channel)
    if as_json:
        output.print_json([m.to_dict() for m in moves])
        return
    for m in moves:
        why = f"  {m.reason}" if m.reason else ""
        output.print_text(output.printable(f"{m.moved_at}  {m.channel:<12} {m.summary}  by {m.moved_by}{why}"))
    if not moves:
        output.info(f"no channel of '{name}' was ever set")


@app.command("export")
def export_cmd(
    refs: Annotated[
        list[str] | None,
        typer.Argument(help="NAME or NAME@RANGE (e.g. support/answer@^1.2, support/answer@production); default: all."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle file to write.", dir_okay=False)] = Path(
        "prompts.lock.json"
    ),
) -> None:
    """Write a bundle of verified releases for deploys without git (load_prompt(..., bundle=FILE))."""
    from ..releases.actions import export_bundle
    from ..sources import check_outputs

    check_outputs({"--out": out})
    res = export_bundle(STATE.root, refs, out)
    output.info(f"wrote {res.releases} release(s) of {res.prompts} prompt(s) to {res.path}")


@app.command("record-gate")
def record_gate(
    file: Annotated[Path, typer.Argument(help="Gate or eval results JSON (must carry run.git_sha and a verdict).")],
    commit: Annotated[
        str | None, typer.Option("--commit", help="Commit to annotate (default: the result's run.git_sha).")
    ] = None,
    push: Annotated[bool, typer.Option("--push", help="Push refs/notes/llmops afterwards.")] = False,
    remote: Remote = "origin",
) -> None:
    """Store a gate verdict as a git note (refs/notes/llmops) so `release create` finds it."""
    from ..releases.actions import push_gate_notes
    from ..releases.actions import record_gate as record
    from ..releases.gate_record import NOTES_REF

    res = record(STATE.root, file, commit)
    output.print_text(f"recorded {res.record.verdict} for {res.commit[:12]} in {NOTES_REF}")
    if push:
        push_gate_notes(STATE.root, remote)
        output.info(f"pushed {NOTES_REF} to {remote}")
