"""Runs a test module's unittest cases and records each one in
$AMIBOX_CASES_FILE ("pass NAME" / "fail NAME"), so that `make check` counts
cases, not programs.  Use cases.main() where unittest.main() was.
"""
import os
import sys
import unittest


class _Recorder(unittest.TextTestResult):
    def _record(self, verdict, test):
        path = os.environ.get("AMIBOX_CASES_FILE")
        if not path:
            return
        prog = os.path.basename(sys.argv[0])
        with open(path, "a") as f:
            f.write("%s %s:%s\n" % (verdict, prog, test.id().split(".", 1)[-1]))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record("pass", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record("fail", test)

    def addError(self, test, err):
        super().addError(test, err)
        self._record("fail", test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._record("fail", subtest)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record("fail", test)


def main(verbosity=1):
    runner = unittest.TextTestRunner(verbosity=verbosity, resultclass=_Recorder)
    unittest.main(module="__main__", testRunner=runner)
