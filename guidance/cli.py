"""python -m guidance VERB: risk, assess, ask, eval, validate, coverage, bench, train, shell,
faq-threshold, tune, gaps, shadow-report.

Exit status: 0 success; 1 bad input, a failed threshold or a pack with problems (validate);
2 the pack cannot be loaded, the settings are wrong or a labelled file is unreadable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

VERBS = ("risk", "assess", "ask")
# Resolved by guidance.evaluate when used; a marker keeps argparse from importing it.
_FROZEN_DEFAULT = Path("<frozen>")
EXIT_INPUT = 1
EXIT_PACK = 2


def main(argv: list[str] | None = None) -> int:
    # JSON output is UTF-8 whatever the locale says, so a message never fails to print.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_INPUT
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m guidance", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    for verb, help_text in (
        ("risk", "screen a message for risk to a child"),
        ("assess", "suggest a level of need for a described situation"),
        ("ask", "answer a question from the guide"),
    ):
        sub = commands.add_parser(verb, help=help_text)
        sub.add_argument("text", nargs="*", help="the message (or use --jsonl)")
        sub.add_argument("--jsonl", action="store_true",
                         help='read {"id", "text"} JSON lines on stdin, write one line each')
        if verb == "ask":
            sub.add_argument("--role", choices=("dsl", "gp", "mash"), default=None)
        sub.set_defaults(handler=_run_verb)
    sub = commands.add_parser("eval", help="score the engine on labelled JSON-lines files")
    sub.add_argument("--risk", type=Path)
    sub.add_argument("--vignettes", type=Path)
    sub.add_argument("--questions", type=Path)
    sub.add_argument("--frozen", type=Path, nargs="?", metavar="DIR", const=_FROZEN_DEFAULT,
                     help="report figures (asserting nothing) for every frozen batch in DIR "
                          "(default tests/guidance/data/frozen) and any --risk/--vignettes")
    sub.add_argument("--details", action="store_true",
                     help="with --frozen, also list each item scored differently")
    sub.set_defaults(handler=_run_eval)
    sub = commands.add_parser("validate", help="check a pack; list every problem")
    sub.add_argument("pack", nargs="?", help="pack folder or name (default: GUIDANCE_PACK)")
    sub.set_defaults(handler=_run_validate)
    sub = commands.add_parser("coverage",
                              help="run the concept catalogue's tests through the engine")
    sub.add_argument("--pack", help="pack folder or name (default: GUIDANCE_PACK)")
    sub.add_argument("--failures", action="store_true",
                     help="print each failing test with what the engine said")
    sub.set_defaults(handler=_run_coverage)
    sub = commands.add_parser("bench", help="messages per second and pack load time")
    sub.add_argument("--seconds", type=float, default=2.0, help="time per verb (default 2)")
    sub.set_defaults(handler=_run_bench)
    sub = commands.add_parser("train", help="build the learned second opinion (cached by a "
                              "hash of its inputs) and print its calibration")
    sub.add_argument("--force", action="store_true", help="train even if the cache is current")
    sub.set_defaults(handler=_run_train)
    sub = commands.add_parser("faq-threshold", help="learn the curated answers' threshold on "
                              "labelled questions and compare it with the pack's")
    sub.add_argument("--pack", help="pack folder or name (default: GUIDANCE_PACK)")
    sub.add_argument("--questions", type=Path, nargs="*",
                     help="labelled question files (default tests/guidance/data/"
                          "questions_extra*.jsonl)")
    sub.add_argument("--details", action="store_true",
                     help="list the questions whose curated and retrieved answers differ")
    sub.set_defaults(handler=_run_faq_threshold)
    sub = commands.add_parser("tune", help="learn the retrieval weights on the labelled "
                              "questions' training split and compare them with the code's")
    sub.add_argument("--pack", help="pack folder or name (default: GUIDANCE_PACK)")
    sub.set_defaults(handler=_run_tune)
    sub = commands.add_parser("gaps", help="group the questions answered without confidence "
                              "by topic, with counts and examples")
    sub.add_argument("--from", dest="source", required=True, metavar="FILE.jsonl",
                     help="records as `python -m mash gaps --as MANAGER` writes them; - for stdin")
    sub.add_argument("--pack", help="pack folder or name, for section titles (default: "
                     "GUIDANCE_PACK)")
    sub.add_argument("--json", action="store_true", help="the groups as JSON lines")
    sub.set_defaults(handler=_run_gaps)
    sub = commands.add_parser("shadow-report", help="score texts with the live pack and a "
                              "candidate pack; count and show where they differ")
    sub.add_argument("--candidate", required=True, help="the candidate pack's folder or name")
    sub.add_argument("--pack", help="the live pack's folder or name (default: GUIDANCE_PACK)")
    sub.add_argument("--jsonl", type=Path, nargs="*", metavar="FILE",
                     help='files of {"text": ...} lines (default: the labelled risk messages '
                          "and vignettes under tests/guidance/data)")
    sub.add_argument("--ask", action="store_true", help="compare answers to the texts too")
    sub.add_argument("--examples", type=int, default=3, help="examples of each kind of "
                     "difference (default 3)")
    sub.set_defaults(handler=_run_shadow_report)
    sub = commands.add_parser("shell", help="type messages and see risk, level and answer")
    sub.set_defaults(handler=_run_shell)
    return parser


# -- loading -------------------------------------------------------------------------------


def _pack_path(name: str | None = None) -> Path:
    from settings import Settings

    settings = Settings.from_env()
    if name is None:
        return settings.pack_path
    candidate = Path(name)
    return candidate if candidate.is_dir() else settings.packs_dir / name


def _load_engine(err: TextIO, pack: str | None = None) -> Any:
    """The Engine for the pack (default: the configured one), or None after printing why not."""
    from guidance.yamlfile import PackError
    from settings import SettingsError

    path = pack
    try:
        path = _pack_path(pack)
        from guidance.engine import Engine
        from guidance.pack import load_pack

        return Engine(load_pack(path))
    except SettingsError as exc:
        print(f"error: {exc}", file=err)
    except PackError as exc:
        print(f"error: the guidance pack at {path} has problems:", file=err)
        for problem in exc.problems:
            print(f"  {problem}", file=err)
    return None


# -- risk / assess / ask ----------------------------------------------------------------------


def _call(engine: Any, verb: str, role: str | None) -> Callable[[str], dict[str, Any]]:
    if verb == "risk":
        return lambda text: engine.risk(text).to_dict()
    if verb == "assess":
        return lambda text: engine.assess(text).to_dict()
    return lambda text: engine.ask(text, role=role).to_dict()


def _run_verb(args: argparse.Namespace) -> int:
    if args.jsonl and args.text:
        print("error: give TEXT or --jsonl, not both", file=sys.stderr)
        return EXIT_INPUT
    if not args.jsonl and not args.text:
        print(f"error: no text given; try: python -m guidance {args.command} \"...\" "
              "or --jsonl", file=sys.stderr)
        return EXIT_INPUT
    text = " ".join(args.text)
    if not args.jsonl and not text.strip():
        # Checked before loading, so a typo costs no start-up time; the engine checks again.
        print("error: text is empty", file=sys.stderr)
        return EXIT_INPUT
    engine = _load_engine(sys.stderr)
    if engine is None:
        return EXIT_PACK
    call = _call(engine, args.command, getattr(args, "role", None))
    out = sys.stdout
    if args.jsonl:
        return run_jsonl(call, sys.stdin.buffer, out)
    from guidance.engine import InputError

    try:
        result = call(text)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    out.write(json.dumps({"id": None, **result}, ensure_ascii=False) + "\n")
    return 0


def _records(stream: BinaryIO) -> Iterator[tuple[int, Any, str | None, str | None]]:
    """(line number, id, text, error) for each non-blank line of JSON-lines input."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None, None, f"line {number}: not valid UTF-8"
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, None, f"line {number}: not valid JSON ({exc.msg})"
            continue
        if not isinstance(record, dict):
            yield number, None, None, f'line {number}: expected an object {{"id", "text"}}'
            continue
        rid = record.get("id")
        if "text" not in record:
            yield number, rid, None, f'line {number}: no "text" field'
        elif not isinstance(record["text"], str):
            yield number, rid, None, f'line {number}: "text" must be a string'
        else:
            yield number, rid, record["text"], None


def run_jsonl(call: Callable[[str], dict[str, Any]], stream: BinaryIO, out: TextIO) -> int:
    """One output line per input line, in order; a bad line gets an error record, not a stop."""
    from guidance.engine import InputError

    failed = 0
    for number, rid, text, error in _records(stream):
        if error is None:
            try:
                record = {"id": rid, **call(text)}
            except InputError as exc:
                error = f"line {number}: {exc}"
        if error is not None:
            failed += 1
            record = {"id": rid, "error": error}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return EXIT_INPUT if failed else 0


# -- eval / validate / bench / shell ----------------------------------------------------------


def _run_eval(args: argparse.Namespace) -> int:
    from guidance.evaluate import EvalFileError, evaluate

    if args.frozen is not None:
        return _run_frozen(args)
    if not (args.risk or args.vignettes or args.questions):
        print("error: give at least one of --risk, --vignettes, --questions", file=sys.stderr)
        return EXIT_INPUT
    engine = _load_engine(sys.stderr)
    if engine is None:
        return EXIT_PACK
    try:
        report = evaluate(engine, risk=args.risk, vignettes=args.vignettes,
                          questions=args.questions)
    except EvalFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PACK
    print(f"pack {engine.pack.name} {engine.pack.version}")
    print("\n".join(report.lines))
    if report.ok:
        print("all thresholds met")
        return 0
    print(f"thresholds not met: {', '.join(report.failures)}")
    return EXIT_INPUT


def _run_frozen(args: argparse.Namespace) -> int:
    """Frozen batches are reported, never asserted: exit 0 unless a file is unreadable."""
    from guidance.evaluate import FROZEN_DIR, EvalFileError, evaluate_frozen

    if args.questions:
        print("error: --frozen scores risk and vignettes files only", file=sys.stderr)
        return EXIT_INPUT
    directory = FROZEN_DIR if args.frozen == _FROZEN_DEFAULT else args.frozen
    engine = _load_engine(sys.stderr)
    if engine is None:
        return EXIT_PACK
    try:
        lines = evaluate_frozen(engine, directory, risk=args.risk, vignettes=args.vignettes,
                                details=args.details)
    except EvalFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PACK
    print(f"pack {engine.pack.name} {engine.pack.version} (frozen batches: figures only)")
    print("\n".join(lines))
    return 0


def _run_validate(args: argparse.Namespace) -> int:
    from guidance.pack import load_pack, validate_pack
    from settings import SettingsError

    try:
        path = _pack_path(args.pack)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PACK
    problems = validate_pack(path)
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in the pack at {path}")
        return EXIT_INPUT
    pack = load_pack(path)
    print(f"pack {pack.name} {pack.version} (effective {pack.effective_date}) at {path}: valid; "
          f"{len(pack.sections)} sections, {len(pack.levels.indicators)} level indicators, "
          f"{len(pack.training)} training offers, {len(pack.concepts)} concepts")
    return 0


def _run_gaps(args: argparse.Namespace) -> int:
    from guidance.gaps import group_gaps, read_records, report_lines
    from guidance.yamlfile import PackError
    from settings import SettingsError

    try:
        if args.source == "-":
            records = read_records(sys.stdin)
        else:
            with open(args.source, encoding="utf-8") as stream:
                records = read_records(stream)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.source}: {exc}", file=sys.stderr)
        return EXIT_PACK
    try:
        from guidance.pack import load_pack

        sections = load_pack(_pack_path(args.pack)).sections
        titles = {section.id: section.title for section in sections}
    except (SettingsError, PackError, OSError) as exc:
        print(f"warning: no section titles ({exc})", file=sys.stderr)
        titles = {}
    groups = group_gaps(records, titles)
    if args.json:
        for group in groups:
            sys.stdout.write(json.dumps(group.to_dict(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("\n".join(report_lines(groups)) + "\n")
    return 0


def _run_faq_threshold(args: argparse.Namespace) -> int:
    from guidance.evaluate import EvalFileError
    from guidance.faq_tuning import learn_threshold, score_questions, sweep

    data = Path(__file__).resolve().parents[1] / "tests" / "guidance" / "data"
    paths = args.questions or sorted(data.glob("questions_extra*.jsonl"))
    engine = _load_engine(sys.stderr, args.pack)
    if engine is None:
        return EXIT_PACK
    try:
        scored = score_questions(engine, paths)
    except EvalFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PACK
    steps = sweep(scored)
    retrieval = sum(s.retrieval_passes for s in scored)
    print(f"{len(scored)} labelled questions; the retrieval alone passes {retrieval}")
    print("  threshold  passed  curated  gained  lost")
    for step in steps:
        print(f"  {step.threshold:9.2f}  {step.passed:6d}  {step.curated:7d}  {step.gained:6d}"
              f"  {step.lost:4d}")
    learned = learn_threshold(steps)
    configured = engine.pack.faq.threshold
    print(f"learned threshold {learned:.2f}; the pack's faq.yml says {configured:.2f}")
    if args.details:
        for s in sorted(scored, key=lambda s: -s.confidence):
            if s.confidence >= learned - 0.1 and s.curated_passes != s.retrieval_passes:
                mark = "gain" if s.curated_passes else "loss"
                print(f"  {s.confidence:.2f} {mark} {s.id} -> {s.entry}: {s.text[:70]}")
    return 0


def _run_tune(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from guidance import learn_weights
    from guidance.tuning import Weights

    engine = _load_engine(sys.stderr, args.pack)
    if engine is None:
        return EXIT_PACK
    finder = engine.answers
    covered, not_covered = learn_weights.labelled_files()
    train = learn_weights.read_items(finder, covered, not_covered, True)
    held = learn_weights.read_items(finder, covered, not_covered, False)
    learned = learn_weights.learn(finder, train, learn_weights.required_rows(), log=sys.stdout)
    current = Weights()
    for field in fields(Weights):
        start, now, new = (getattr(w, field.name) for w in (learn_weights.START, current,
                                                             learned))
        mark = "" if new == now else "   <- differs from guidance/tuning.py"
        print(f"  {field.name:16s} hand-set {start:<5} learned {new:<5} code {now:<5}{mark}")
    for name, items in (("training", train), ("held back", held)):
        for label, weights in (("hand-set", learn_weights.START), ("learned", learned)):
            got = learn_weights.score(finder, items, weights)
            print(f"{name:9s} {label:8s}: {got.passed}/{got.covered} answered with the facts, "
                  f"{got.declined}/{got.not_covered} not-covered questions not confident")
    return 0 if learned == current else 1


def _run_coverage(args: argparse.Namespace) -> int:
    from guidance.coverage import report_lines, run_catalogue

    engine = _load_engine(sys.stderr, args.pack)
    if engine is None:
        return EXIT_PACK
    catalogue = engine.pack.concepts
    if not len(catalogue):
        print(f"pack {engine.pack.name} {engine.pack.version}: no concepts (concepts/ is "
              "missing or empty)")
        return 0

    shown = []

    def progress(done: int, total: int) -> None:
        shown.append(done)
        print(f"\r  {done}/{total} concepts run", end="", file=sys.stderr, flush=True)

    results = run_catalogue(engine, list(catalogue), progress=progress)
    if shown:
        print(file=sys.stderr)  # end the progress line
    print(f"pack {engine.pack.name} {engine.pack.version}: concept coverage")
    print("\n".join(report_lines(results, catalogue.by_list(), failures=args.failures)))
    return EXIT_INPUT if any(r.failures for r in results) else 0


def _run_shadow_report(args: argparse.Namespace) -> int:
    from guidance import classifier, shadow
    from guidance.engine import Engine
    from guidance.evaluate import EvalFileError, read_labelled
    from guidance.pack import load_pack
    from guidance.yamlfile import PackError

    live = _load_engine(sys.stderr, args.pack)
    if live is None:
        return EXIT_PACK
    path = _pack_path(args.candidate)
    try:
        # the same learned second opinion: the trial measures the pack's change alone
        candidate = Engine(load_pack(path), second_opinion=live.second_opinion)
    except PackError as exc:
        print(f"error: the candidate pack at {path} has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_PACK
    files = args.jsonl if args.jsonl else [p for group in classifier.training_files()
                                           for p in group]
    try:
        texts = [row["text"] for file in files for row in read_labelled(file, ("text",))]
    except EvalFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PACK
    verbs = ("risk", "assess", "ask") if args.ask else ("risk", "assess")
    print(f"==> live {live.pack.name} {live.pack.version} ({live.pack.path}) against candidate "
          f"{candidate.pack.name} {candidate.pack.version} ({path}): {len(texts)} texts from "
          f"{len(files)} files, {', '.join(verbs)}", file=sys.stderr)
    found = shadow.compare(live, candidate, texts, verbs)
    print("\n".join(shadow.report_lines(texts, found, examples=args.examples)))
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from guidance.bench import run_bench
    from guidance.yamlfile import PackError
    from settings import SettingsError

    try:
        path = _pack_path()
        results = run_bench(path, seconds=args.seconds)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PACK
    except PackError as exc:
        print(f"error: the guidance pack at {path} has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_PACK
    print(f"bench (pack at {path}; one process, one message per call)")
    for result in results:
        print(result.line())
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from guidance import classifier
    from guidance.engine import Engine
    from guidance.pack import load_pack
    from guidance.yamlfile import PackError
    from settings import SettingsError

    try:
        path = _pack_path()
        rules = Engine(load_pack(path), second_opinion=None)
    except (SettingsError, PackError) as exc:
        print(f"error: cannot load the pack for the rules' figures: {exc}", file=sys.stderr)
        return EXIT_PACK
    try:
        key = classifier.inputs_key()
        directory = classifier.CACHE_DIR / key
        if (directory / "model.json").exists() and not args.force:
            print(f"==> classifier up to date: {directory}")
            for line in classifier.describe(classifier.load(directory)):
                print(f"  {line}")
            return 0
        print(f"==> training the classifier: {directory}")
        model = classifier.train(log=sys.stdout, rules=rules.rules_only)
        if directory.exists():
            import shutil

            shutil.rmtree(directory)
        classifier.save(model, directory)
    except classifier.ClassifierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PACK
    print(f"==> saved {directory}")
    return 0


def _run_shell(args: argparse.Namespace) -> int:
    from guidance.engine import InputError

    engine = _load_engine(sys.stderr)
    if engine is None:
        return EXIT_PACK
    pack = engine.pack
    print(f"{pack.authority} guidance pack {pack.version}. Type a question or a worry; "
          "Ctrl-D to leave.")
    print(pack.contacts.safety_message(dt.datetime.now(pack.contacts.timezone)))
    while True:
        try:
            text = input("\n> ")
        except EOFError:
            print()
            return 0
        if not text.strip():
            continue
        try:
            risk = engine.risk(text)
            level = engine.assess(text)
            answer = engine.ask(text)
        except InputError as exc:
            print(f"error: {exc}")
            continue
        print(f"risk: {risk.urgency}" + (f" ({', '.join(risk.categories)})"
                                         if risk.categories else ""))
        if risk.urgency == "immediate":
            print("  " + pack.contacts.safety_message(dt.datetime.now(pack.contacts.timezone)))
        print(f"level: {level.level}" if level.placed else "level: unplaced")
        for reason in level.reasons:
            print(f"  - {reason}")
        for question in level.questions:
            print(f"  ? {question}")
        print("answer: " + answer.answer)
        if answer.sources:
            print("sources: " + "; ".join(f"{s.title} ({s.id})" for s in answer.sources))
