"""The Python module (python/qtool_module.cpp) against `qtool translate`.

Run by tests/python/run.sh after `pip install .`; the environment names the
model, the 50 source lines and the CLI's translation of them.
"""
import os
import subprocess
import threading
import unittest

import qtool

MODEL = os.environ["QTOOL_TEST_MODEL"]
SOURCE = os.environ["QTOOL_TEST_SOURCE"]
WANT = os.environ["QTOOL_TEST_WANT"]
SCRATCH = os.environ["QTOOL_TEST_SCRATCH"]


def lines_of(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        return f.read().split("\n")[:-1]


class TranslatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lines = lines_of(SOURCE)
        cls.want = lines_of(WANT)
        cls.t = qtool.Translator(MODEL, threads=2)

    def test_same_as_cli(self):
        self.assertEqual(len(self.lines), 50)
        self.assertEqual(self.t.translate(self.lines), self.want)

    def test_hypotheses(self):
        r = self.t.translate_batch(self.lines[:4], beam_size=4, num_hypotheses=2)
        self.assertEqual(len(r), 4)
        for hyps in r:
            self.assertEqual(len(hyps), 2)
            self.assertGreaterEqual(hyps[0]["score"], hyps[1]["score"])
            self.assertEqual(self.t.decode(hyps[0]["ids"]), hyps[0]["text"])
        ids = self.t.translate_ids([self.t.encode(l) for l in self.lines[:3]])
        self.assertEqual([self.t.decode(i) for i in ids], self.want[:3])

    def test_concurrent_threads(self):
        got = [None] * 4

        def run(k):
            got[k] = self.t.translate(self.lines[:20], threads=1)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for g in got:
            self.assertEqual(g, self.want[:20])

    def test_progress_and_cancel(self):
        seen = []
        self.t.translate(self.lines[:10], batch_size=4, progress=lambda done, total: seen.append((done, total)))
        self.assertEqual(seen, [(4, 10), (8, 10), (10, 10)])
        with self.assertRaisesRegex(qtool.Error, "^qtool: error: translation cancelled$"):
            self.t.translate(self.lines[:10], batch_size=4, progress=lambda done, total: False)

        class Mine(Exception):
            pass

        def boom(done, total):
            raise Mine("from the callback")

        with self.assertRaises(Mine):
            self.t.translate(self.lines[:10], batch_size=4, progress=boom)

    def test_progress_from_parallel_streams(self):
        # 13 batches on 2 threads: two streams (the default), whose threads call back.
        seen = []
        got = self.t.translate(self.lines, batch_size=4, progress=lambda done, total: seen.append((done, total)))
        self.assertEqual(got, self.want)
        self.assertEqual(len(seen), 13)
        self.assertEqual(seen, sorted(seen))
        self.assertEqual(seen[-1], (50, 50))

        class Mine(Exception):
            pass

        def boom(done, total):
            raise Mine("from a stream's thread")

        with self.assertRaises(Mine):
            self.t.translate(self.lines, batch_size=4, progress=boom)

    def test_errors_as_cli(self):
        missing = os.path.join(SCRATCH, "no-such-model")
        out = os.path.join(SCRATCH, "never-written.de")
        cli = subprocess.run([os.environ["QTOOL_BINARY"], "translate", "--model", missing, "--input", SOURCE,
                              "--output", out, "--quiet"], capture_output=True, text=True)
        self.assertEqual(cli.returncode, 1)
        with self.assertRaises(qtool.Error) as e:
            qtool.Translator(missing)
        self.assertEqual(str(e.exception), cli.stderr.strip())
        self.assertFalse(os.path.exists(out))
        with self.assertRaisesRegex(qtool.Error, r"^qtool: error: beam_size: 0 not in range \[1, 64\]$"):
            self.t.translate(["Hello."], beam_size=0)
        with self.assertRaises(TypeError):
            self.t.translate(["Hello."], beam=2)
        self.assertTrue(issubclass(qtool.Error, RuntimeError))


if __name__ == "__main__":
    unittest.main()
