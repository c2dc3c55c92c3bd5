"""The text pipelines import spaCy without torch (a second of start-up in every audit process), and torch still
imports normally afterwards for the embedders that need it."""

from __future__ import annotations

import subprocess
import sys


def test_pipelines_do_not_import_torch_and_torch_still_works_after():
    code = (
        "import sys\n"
        "from auditor.text.pipelines import TextPipelines\n"
        "pipelines = TextPipelines()\n"
        "doc = pipelines.for_lang('zh')('您好，请问有什么可以帮您？我查一下。')\n"
        "assert len(list(doc.sents)) == 2\n"
        "assert pipelines.for_lang('en')('Hello. How can I help?').text\n"
        "print('torch' in sys.modules)\n"
        "import torch\n"
        "print(float(torch.ones(2).sum()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "2.0"]
