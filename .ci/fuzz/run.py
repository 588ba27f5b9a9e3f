#!/usr/bin/env python3
"""Property-based API fuzz of a live Lethe engine, from the OpenAPI document it serves.

Starts the `lethe` binary on a fresh data directory (embedded SQLite, development mode, limits
raised so the fuzzer reaches validation instead of 429s), creates an admin with the CLI, signs
in, and runs schemathesis (pinned in requirements.txt, installed in a virtual environment under
target/) twice: without credentials, then with the admin's token. The checks, the phases and
the operations left out of the authenticated run are in schemathesis.toml beside this file.

Fails (exit 1) on any 5xx, any answer that breaks its documented schema or content type, and
any status code the document does not list for the operation.

    python3 .ci/fuzz/run.py                        # CI's bounded run (about 3 minutes)
    python3 .ci/fuzz/run.py --max-examples 500     # a longer one
    python3 .ci/fuzz/run.py --seed 42              # reproduce a run

The binary defaults to target/debug/lethe (`cargo build --locked -p lethe-api --bin lethe`).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ADMIN = "fuzz-admin@acme.example"
SECOND_ADMIN = "fuzz-admin-2@acme.example"
# Operations that can end the caller's own session: a password change, organization settings
# (`mfa_required` refuses the tokens of admins without a second factor), and changes to an
# operator (schemathesis reuses ids from earlier answers, the admin's own among them: disabling
# it, a new role, a reset second factor). The admin pass leaves them out; a last pass runs them
# with a second admin's token.
SESSION_ENDING = ["/v1/auth/password", "/v1/organization", "/v1/operators/{id}", "/v1/operators/{id}/mfa/reset"]


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def schemathesis() -> Path:
    """The pinned schemathesis, in target/fuzz-venv (created or refreshed when needed)."""
    venv = target_dir() / "fuzz-venv"
    exe = venv / "bin" / "schemathesis"
    want = next(
        line.split("==")[1].strip()
        for line in (HERE / "requirements.txt").read_text().splitlines()
        if line.startswith("schemathesis==")
    )
    try:
        have = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    except OSError:
        have = ""
    if want not in have:
        print(f"fuzz: installing schemathesis {want} into {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
        pip = [venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", HERE / "requirements.txt"], check=True)
    return exe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


class Engine:
    """One `lethe` process on a fresh data directory."""

    def __init__(self, binary: Path, root: Path):
        data, stores = root / "data", root / "stores"
        stores.mkdir()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "LETHE_DATA_DIR": str(data),
            "LETHE_LISTEN": f"127.0.0.1:{self.port}",
            "LETHE_PUBLIC_URL": self.base,
            "LETHE_LOG": "warn",
            # The fuzzer is one client sending thousands of requests: without these it would
            # meet 429 (documented, so allowed) instead of the validation it is here to test.
            "LETHE_PUBLIC_RATE_PER_MINUTE": "1000000",
            "LETHE_AUTHENTICATED_RATE_PER_MINUTE": "1000000",
            "LETHE_SUBMISSIONS_PER_EMAIL_PER_HOUR": "1000000",
            "LETHE_TOKEN_TTL_SECS": "86400",
            # A case that finds a real request waits out its long poll: keep it short.
            "LETHE_WAIT_MAX_SECS": "2",
            # Generated store URLs must never make the engine connect anywhere: every address is
            # denied, and SQLite files may only be in an empty directory of the run's own.
            "LETHE_TARGET_DENY_NETS": "0.0.0.0/0,::/0",
            "LETHE_TARGET_ALLOW_DIRS": str(stores),
        }
        self.binary = binary
        self.log = open(root / "engine.log", "w")
        self.process = subprocess.Popen([binary], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, seconds: float = 120):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"fuzz: FATAL: lethe exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise SystemExit("fuzz: FATAL: lethe did not become ready")

    def admin_token(self, email: str) -> str:
        subprocess.run(
            [self.binary, "operator", "create", "--email", email, "--role", "admin", "--org", "acme",
             "--org-name", "Acme AB", "--password-stdin"],
            input="fuzz-admin-password-1\n", env=self.env, capture_output=True, text=True, check=True,
        )
        login = http("POST", f"{self.base}/v1/auth/login", {"email": email, "password": "fuzz-admin-password-1"})
        return login["access_token"]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def fuzz(exe: Path, engine: Engine, name: str, args, extra, report: Path) -> int:
    """Runs one schemathesis pass; returns its exit code. Cases counted from its ndjson report."""
    command = [
        exe, "--config-file", HERE / "schemathesis.toml", "run", f"{engine.base}/openapi.json",
        "--max-examples", str(args.max_examples), "--seed", str(args.seed),
        "--report", "ndjson", "--report-ndjson-path", report, *extra,
    ]
    print(f"fuzz: {name}: {' '.join(str(c) for c in command[1:])}", flush=True)
    return subprocess.run(command, cwd=report.parent).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, default=target_dir() / "debug" / "lethe")
    parser.add_argument("--max-examples", type=int, default=50, help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and reports")
    args = parser.parse_args()
    if not args.binary.exists():
        raise SystemExit(f"fuzz: FATAL: {args.binary} missing (cargo build --locked -p lethe-api --bin lethe)")
    exe = schemathesis()
    data = Path(tempfile.mkdtemp(prefix="lethe-fuzz-"))
    engine = Engine(args.binary, data)
    failed = []
    try:
        engine.wait_ready()
        token = engine.admin_token(ADMIN)
        passes = [
            ("unauthenticated", []),
            ("admin", ["-H", f"Authorization: Bearer {token}", *exclude(SESSION_ENDING)]),
        ]
        failed = run_passes(exe, engine, args, passes, data)
        # The admin pass must not have ended its own session.
        try:
            http("GET", f"{engine.base}/v1/operators", token=token)
        except urllib.error.HTTPError as e:
            print(f"fuzz: the admin pass ended its own session ({e.code})", file=sys.stderr)
            failed.append("admin session")
        # Last, the operations that can end a session, with a second admin's token.
        last = engine.admin_token(SECOND_ADMIN)
        passes = [("admin, session-ending", ["-H", f"Authorization: Bearer {last}", *include(SESSION_ENDING)])]
        failed += run_passes(exe, engine, args, passes, data)
    finally:
        engine.stop()
        if failed or args.keep:
            print(f"fuzz: data directory, engine log and reports kept in {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)
    if failed:
        print(f"fuzz: FAILED: {', '.join(failed)} (seed {args.seed})", file=sys.stderr)
        return 1
    print(f"fuzz: passed (seed {args.seed})")
    return 0


def run_passes(exe: Path, engine: "Engine", args, passes, data: Path):
    """Runs each `(name, extra arguments)` pass; returns the names of those that failed."""
    failed = []
    for name, extra in passes:
        report = data / f"{name.replace(', ', '-')}.ndjson"
        code = fuzz(exe, engine, name, args, extra, report)
        print(f"fuzz: {name}: {count_cases(report)} cases, exit {code}", flush=True)
        if code != 0:
            failed.append(name)
    return failed


def exclude(paths):
    return [arg for path in paths for arg in ("--exclude-path", path)]


def include(paths):
    return [arg for path in paths for arg in ("--include-path", path)]


def count_cases(report: Path) -> int:
    """Test cases run, from schemathesis' ndjson events (one `ScenarioFinished` per case set)."""
    if not report.exists():
        return 0
    cases = 0
    for line in report.read_text().splitlines():
        event = json.loads(line)
        for kind, body in event.items():
            if kind == "ScenarioFinished":
                cases += len(body.get("recorder", {}).get("cases", {}))
    return cases


if __name__ == "__main__":
    sys.exit(main())
