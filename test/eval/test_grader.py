"""Unit tests of src/eval/grader.py, run as Python (`python3 -m unittest discover -s test/eval -p 'test_*.py'`, and from
mocha by test/eval/grading.test.ts). Each test runs the grader as the harness does: a subprocess, JSON in and out."""
import json
import os
import subprocess
import sys
import unittest

GRADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "eval", "grader.py")
REFERENCE = "def add_up(xs):\n    return sum(xs)\n"


def grade(**req):
    req.setdefault("callTimeoutS", 2)
    run = subprocess.run([sys.executable, "-I", "-S", GRADER], input=json.dumps(req), capture_output=True, text=True, timeout=60)
    return json.loads(run.stdout.strip().splitlines()[-1])


def io(code, inputs=("[1, 2]", "[]")):
    return grade(kind="io", code=code, entryPoint="add_up", reference=REFERENCE, inputs=list(inputs))


class GraderTest(unittest.TestCase):
    def test_io_right_and_wrong(self):
        self.assertEqual(io("def add_up(xs):\n    return sum(xs)\n"), {"passed": True, "total": 2, "ok": 2, "detail": ""})
        wrong = io("def add_up(xs):\n    return len(xs)\n")
        self.assertFalse(wrong["passed"])
        self.assertIn("wrong answer on input [1, 2]", wrong["detail"])

    def test_types_and_floats_compare_strictly_and_closely(self):
        ref = "def f(x):\n    return x / 3\n"
        self.assertTrue(grade(kind="io", code="def f(x):\n    return x * (1 / 3)\n", entryPoint="f", reference=ref, inputs=["1.0"])["passed"])
        self.assertFalse(grade(kind="io", code="def f(x):\n    return [x]\n", entryPoint="f", reference="def f(x):\n    return (x,)\n", inputs=["1"])["passed"])

    def test_candidate_mutating_its_arguments_does_not_change_the_expected_output(self):
        code = "def add_up(xs):\n    s = sum(xs)\n    xs.clear()\n    return s\n"
        self.assertTrue(io(code)["passed"])

    def test_timeout_and_exceptions(self):
        self.assertIn("timeout", grade(kind="io", code="def add_up(xs):\n    while True: pass\n", entryPoint="add_up",
                                       reference=REFERENCE, inputs=["[1]"], callTimeoutS=0.5)["detail"])
        self.assertIn("ValueError: no", io("def add_up(xs):\n    raise ValueError('no')\n")["detail"])
        self.assertIn("error: no function add_up", io("x = 1\n")["detail"])
        self.assertIn("SyntaxError", io("def add_up(xs) return 1\n")["detail"])
        self.assertIn("SystemExit", io("def add_up(xs):\n    raise SystemExit(3)\n")["detail"])

    def test_tests_kind(self):
        test = "def check(candidate):\n    assert candidate([1, 2]) == 3\n"
        self.assertTrue(grade(kind="tests", code=REFERENCE, entryPoint="add_up", test=test)["passed"])
        self.assertFalse(grade(kind="tests", code="def add_up(xs):\n    return 0\n", entryPoint="add_up", test=test)["passed"])

    def test_examples_kind(self):
        prompt = 'def add_up(xs):\n    """Sum.\n    >>> add_up([1, 2])\n    3\n    """\n'
        self.assertEqual(grade(kind="examples", code=prompt + REFERENCE, entryPoint="add_up", prompt=prompt),
                         {"passed": True, "total": 1, "ok": 1, "detail": ""})
        wrong = grade(kind="examples", code="def add_up(xs):\n    return 0\n", entryPoint="add_up", prompt=prompt, detailChars=1000)
        self.assertEqual([wrong["passed"], wrong["total"], wrong["ok"]], [False, 1, 0])
        self.assertIn("Expected:", wrong["detail"])

    def test_the_guards_that_exist(self):
        for body in ("import socket\n    socket.create_connection(('127.0.0.1', 9))",
                     "import subprocess\n    subprocess.run(['true'])",
                     "import os\n    os.system('true')"):
            r = io("def add_up(xs):\n    " + body + "\n    return sum(xs)\n")
            self.assertIn("network and processes are disabled", r["detail"], body)

    def test_what_is_left_open_is_as_documented(self):
        # the README and the docstring say os.exec* and ctypes stay open: keep them honest
        code = "import os, ctypes\ndef add_up(xs):\n    return sum(xs) if callable(os.execv) and ctypes.CDLL is not None else -1\n"
        self.assertTrue(io(code)["passed"])
        with open(GRADER, encoding="utf-8") as f:
            doc = f.read()
        self.assertIn("os.exec*", doc)
        self.assertIn("ctypes", doc)


if __name__ == "__main__":
    unittest.main()
