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


def test_readme_first_command_is_the_photo_demo():
    """The README's first set-up command runs examples/photo_demo.py."""
    makefile = README.parent / "Makefile"
    if not README.is_file() or not makefile.is_file():
        pytest.skip("README.md and Makefile are not shipped with an installed package")
    first = re.search(r"```bash\n(.*?)\n", README.read_text()).group(1)
    assert first.split("#")[0].split() == ["make", "demo"]
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile.read_text(), re.M)
    assert "examples/photo_demo.py" in recipe.group(1)
