"""Mutation testing of the rule modules with mutmut, one module at a time, in a scratch copy.

    python tools/mutation.py --list
    python tools/mutation.py clinic [--max-children 1] [--workdir /tmp/sip-mutation]
    python tools/mutation.py clinic --show-survivors     # the diff of each surviving mutant
    python tools/mutation.py assignments --only 'services.assignments.x_check_*'   # some functions only

mutmut rewrites the files it mutates and keeps its state in `mutants/`; running it in a copy of
the tracked files keeps the work tree clean and lets each module use only its own tests (the
whole suite per mutant would take hours on two cores). Each module's run is restricted to its
source file and the test files that exercise it (MODULES below). The settings shared by all runs
(what to copy, pytest options) are [tool.mutmut] in pyproject.toml.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module -> (files to mutate, test files run against each mutant)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "assignments": (
        ["services/assignments.py"],
        [
            "tests/test_roster_services.py",
            "tests/test_mutations_assignments.py",
            "tests/test_mutations_assignments_more.py",
            "tests/test_prod_api_teams.py",
        ],
    ),
    "clinic": (["services/clinic.py"], ["tests/test_public_clinic.py", "tests/test_mutations_clinic.py"]),
    "holiday_calendar": (
        ["scheduler/holiday_calendar.py"],
        ["tests/test_schedule_calendar.py", "tests/test_mutations_holiday_calendar.py"],
    ),
    "rules": (
        ["scheduler/rules.py"],
        ["tests/test_schedule_occurrences.py", "tests/test_schedule_calendar.py", "tests/test_mutations_rules.py"],
    ),
    "privacy": (
        ["models/programmes.py", "api/public.py", "feeds/sources.py"],
        [
            "tests/test_public_rule.py",
            "tests/test_prod_api_public.py",
            "tests/test_feeds_content.py",
            "tests/test_mutations_privacy.py",
        ],
    ),
    "tokens": (
        ["feeds/tokens.py", "api/tokens.py"],
        ["tests/test_feeds_tokens.py", "tests/test_prod_api_tokens.py", "tests/test_mutations_tokens.py"],
    ),
    "checkin": (["services/checkin.py"], ["tests/test_checkin.py", "tests/test_mutations_checkin.py"]),
    "waitlist": (
        ["services/waitlist.py", "services/trades.py"],  # trades.py: run with --only its expiry functions
        ["tests/test_trade_services.py", "tests/test_waitlist_manage.py", "tests/test_mutations_waitlist.py"],
    ),
}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


def prepare(workdir: Path, module: str) -> None:
    sources, tests = MODULES[module]
    if workdir.exists():
        shutil.rmtree(workdir)
    for name in tracked_files():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    # Untracked new test files (while they are being written) come along too.
    for test in tests:
        if (ROOT / test).exists():
            shutil.copy2(ROOT / test, workdir / test)
    if (ROOT / "node_modules").exists():
        (workdir / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    settings = dict(pyproject["tool"]["mutmut"])
    settings["only_mutate"] = sources
    settings["pytest_add_cli_args_test_selection"] = [t for t in tests if (workdir / t).exists()]
    lines = ["[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    pytest_options = pyproject["tool"]["pytest"]["ini_options"]
    lines += ["", "[tool.pytest.ini_options]"] + [
        f"{key} = {json.dumps(value)}" for key, value in pytest_options.items()
    ]
    (workdir / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary(workdir: Path) -> dict:
    subprocess.run(["mutmut", "export-cicd-stats"], cwd=workdir, check=False, capture_output=True)
    stats_file = workdir / "mutants" / "mutmut-cicd-stats.json"
    return json.loads(stats_file.read_text()) if stats_file.exists() else {}


def survivors(workdir: Path) -> list[str]:
    out = subprocess.run(["mutmut", "results"], cwd=workdir, capture_output=True, text=True).stdout
    return [line.split(":")[0].strip() for line in out.splitlines() if line.strip().endswith("survived")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("module", nargs="?", choices=sorted(MODULES))
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch copy (default /tmp/sip-mutation/MODULE)")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutants (default 1: a shared machine)")
    parser.add_argument("--show-survivors", action="store_true", help="print the diff of each surviving mutant")
    parser.add_argument("--reuse", action="store_true", help="keep an existing scratch copy and its results")
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="PATTERN",
        help="run only these mutants (mutmut names, * allowed), e.g. 'services.assignments.x_check_*'",
    )
    args = parser.parse_args()
    if args.list or not args.module:
        for name, (sources, tests) in MODULES.items():
            print(f"{name}: {' '.join(sources)}  <-  {' '.join(tests)}")
        return 0
    workdir = args.workdir or Path("/tmp/sip-mutation") / args.module
    if not args.reuse:
        prepare(workdir, args.module)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if not args.show_survivors:
        subprocess.run(
            ["mutmut", "run", "--max-children", str(args.max_children), *args.only], cwd=workdir, env=env, check=False
        )
    stats = summary(workdir)
    left = survivors(workdir)
    if args.show_survivors:
        for name in left:
            subprocess.run(["mutmut", "show", name], cwd=workdir, check=False)
    print(json.dumps(stats, indent=1))
    print(f"survived ({len(left)}):", *left, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
