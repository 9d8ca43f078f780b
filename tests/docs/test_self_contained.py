"""A clone is the whole product: nothing in the repository reads or cites files outside it, and
every relative link in the README and the docs points at a file of the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()

#: Names of the team's reference shelf, which users never get. Case-sensitive: ``docs/sms.md`` is ours.
#: Written in pieces so that this file does not itself cite them to a repository-wide grep.
FORBIDDEN = ("../" "shared", "/work/", "DESIGN" ".md", "PLATFORMS" ".md", "SMS" ".md", "STYLE" ".md",
             "shared/" "vectors", "seeds/")

#: The docs every user gets; ``docs/README.md`` links each of them.
DOCS = ("api.md", "design.md", "procedures.md", "platforms/wecom.md", "platforms/dingtalk.md",
        "platforms/feishu.md", "sms.md", "operations.md", "configuration.md", "import.md", "reports.md")

_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def repo_files() -> list[Path]:
    """Tracked files plus new files not ignored: what a commit of this tree would hold."""
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        out = subprocess.run([git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, check=True).stdout
        return [ROOT / name for name in out.decode("utf-8").split("\0") if name]
    pytest.fail("not a git checkout: run the tests in a clone of the repository")


def test_no_file_reads_or_cites_outside_the_repository() -> None:
    offenders: list[str] = []
    for path in repo_files():
        if path.resolve() == THIS or not path.is_file():
            continue
        data = path.read_bytes()
        for needle in FORBIDDEN:
            if needle.encode() in data:
                for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                    if needle in line:
                        offenders.append(f"{path.relative_to(ROOT)}:{number}: {needle!r} in {line.strip()[:100]}")
    assert not offenders, "files that point outside the repository:\n" + "\n".join(offenders)


def markdown_pages() -> list[Path]:
    """``README.md`` and every Markdown page under ``docs/``."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def relative_links(page: Path) -> list[str]:
    """The link targets of ``page`` that are files of the repository (no URLs, no bare anchors)."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return [t for t in _LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:|#", t, re.I)]


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_repository_files(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        resolved = (page.parent / target.split("#", 1)[0]).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to files that are not in the repository: {broken}"


def test_docs_index_links_every_doc() -> None:
    index = ROOT / "docs" / "README.md"
    assert set(DOCS) <= set(relative_links(index))
    assert "docs/README.md" in relative_links(ROOT / "README.md")


def test_link_finder_sees_what_a_reader_sees(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('See [a](a.md), ![pic](img/b.png "t"), [web](https://x.cn/a.md), [top](#top),\n'
                    "[anchor](c.md#part) and\n```\n[in code](d.md)\n```\n", encoding="utf-8")
    assert relative_links(page) == ["a.md", "img/b.png", "c.md#part"]
