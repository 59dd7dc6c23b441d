"""Grades one candidate program for `hindsight eval` (run by src/eval/pythonGrader.ts as `python3 -I -S grader.py`).

Protocol: one JSON request on stdin, one JSON line on stdout:
    {"passed": bool, "total": int, "ok": int, "detail": str}
Request kinds (see GradeRequest in pythonGrader.ts):
    tests     HumanEval: `test` defines check(candidate), called with the entry point.
    io        EvoEval: each input is a Python argument list; the expected output comes from running `reference`
              (the canonical solution) in its own namespace on a deep copy of the arguments.
    examples  the `>>>` examples of the entry point's docstring in `prompt` (the run_tests tool's public checks).

What this is and is not: a guard against accidents of model-written code, not a security boundary. It caps the
address space at 2 GiB (RLIMIT_AS), replaces socket.socket, socket.create_connection, os.system and
subprocess.Popen with functions that raise, runs every call under an alarm (callTimeoutS), and the caller kills the
whole process after totalTimeoutS. Everything else stays open: os.exec*, os.fork, os.posix_spawn, os.kill, ctypes,
importlib reloading the patched modules, and the file system with the caller's permissions. Run it only on code
you would run yourself, or inside a container.
"""
import copy
import json
import math
import os
import resource
import signal
import socket
import subprocess
import sys


class Timeout(Exception):
    """Raised by the alarm when one call runs past the limit."""


def _blocked(*_args, **_kwargs):
    raise OSError("network and processes are disabled in the grader")


def sandbox():
    """The guards described in the module docstring (best effort, see there for what is left open)."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    except (ValueError, OSError):
        pass
    socket.socket = _blocked
    socket.create_connection = _blocked
    os.system = _blocked
    subprocess.Popen = _blocked


def _alarm(*_args):
    raise Timeout()


def timed(limit, fn, *args):
    """fn(*args) under an alarm of `limit` seconds."""
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def same(a, b):
    """Equality of outputs: floats with isclose (NaN equals NaN), containers element-wise, types must match."""
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (a != a and b != b)
        except TypeError:
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class Grader:
    def __init__(self, req):
        self.req = req
        self.limit = float(req["callTimeoutS"])
        self.detail_chars = int(req.get("detailChars", 300))

    def out(self, passed, total, ok, detail):
        """Prints the result and ends the process at once (a candidate's atexit hooks or threads cannot interfere)."""
        print(json.dumps({"passed": passed, "total": total, "ok": ok, "detail": detail[:self.detail_chars]}))
        sys.stdout.flush()
        os._exit(0)

    def load(self, code, name):
        namespace = {"__name__": "__candidate__"}
        timed(self.limit, exec, compile(code, name, "exec"), namespace)
        return namespace

    def run(self):
        req = self.req
        try:
            cand = self.load(req["code"], "<candidate>")
            fn = cand.get(req["entryPoint"])
            if not callable(fn):
                self.out(False, 1, 0, "error: no function " + req["entryPoint"])
        except Timeout:
            self.out(False, 1, 0, "timeout")
        except BaseException as e:  # noqa: BLE001  (a candidate may raise anything, SystemExit included)
            self.out(False, 1, 0, "error: " + type(e).__name__ + ": " + str(e))
        if req["kind"] == "tests":
            self.tests(cand, fn)
        if req["kind"] == "examples":
            self.examples(cand)
        self.io(fn)

    def tests(self, cand, fn):
        try:
            timed(self.limit, exec, compile(self.req["test"], "<test>", "exec"), cand)
            timed(self.limit, cand["check"], fn)
            self.out(True, 1, 1, "")
        except Timeout:
            self.out(False, 1, 0, "timeout")
        except BaseException as e:  # noqa: BLE001
            self.out(False, 1, 0, "error: " + type(e).__name__ + ": " + str(e))

    def examples(self, cand):
        import ast
        import doctest
        docs = []
        try:
            for node in ast.walk(ast.parse(self.req["prompt"])):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == self.req["entryPoint"]:
                    docs.append(ast.get_docstring(node) or "")
        except SyntaxError:
            pass
        examples = doctest.DocTestParser().get_examples(docs[0] if docs else self.req["prompt"])
        if not examples:
            self.out(True, 0, 0, "")
        report = []
        runner = doctest.DocTestRunner(verbose=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        # a repeating alarm: every example that runs too long raises Timeout, which doctest reports as its failure
        signal.setitimer(signal.ITIMER_REAL, self.limit, self.limit)
        try:
            failed, tried = runner.run(doctest.DocTest(examples, cand, "examples", None, 0, None), out=report.append, clear_globs=False)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        lines = [line for line in "".join(report).splitlines()
                 if line.strip() and not line.startswith("*****") and not line.startswith("File ")]
        self.out(failed == 0, tried, tried - failed, "\n".join(lines))

    def io(self, fn):
        ref = self.load(self.req["reference"], "<reference>")[self.req["entryPoint"]]
        total = ok = 0
        for text in self.req["inputs"]:
            try:
                args = eval("(" + text + ",)", {}) if text.strip() else ()
                expected = timed(self.limit, ref, *copy.deepcopy(args))
            except BaseException:  # noqa: BLE001  (an input the reference cannot run is skipped)
                continue
            total += 1
            try:
                got = timed(self.limit, fn, *copy.deepcopy(args))
            except Timeout:
                self.out(False, total, ok, "timeout on input " + text[:80])
            except BaseException as e:  # noqa: BLE001
                self.out(False, total, ok, "error on input " + text[:80] + ": " + type(e).__name__ + ": " + str(e))
            if not same(got, expected):
                self.out(False, total, ok, "wrong answer on input " + text[:80])
            ok += 1
        self.out(total > 0, total, ok, "" if total > 0 else "error: no usable inputs")


def main():
    req = json.loads(sys.stdin.read())
    sandbox()
    signal.signal(signal.SIGALRM, _alarm)
    Grader(req).run()


if __name__ == "__main__":
    main()
