"""The README's quickstart runs as written (on a smaller data set)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs(tmp_path, monkeypatch):
    if not README.is_file():
        pytest.skip("README.md is not shipped with an installed package")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    quickstart = next(b for b in blocks if "model.fit" in b)
    # Fewer images keep the test fast; everything else runs as written.
    quickstart = quickstart.replace("np.random.rand(256,", "np.random.rand(16,")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(quickstart, str(README), "exec"), namespace)
    model = namespace["model"]
    assert model.count_params() == 170_848
    assert (tmp_path / "deblur.keras").is_file()
