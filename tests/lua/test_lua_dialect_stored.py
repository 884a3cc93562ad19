"""A long SharpLua script's translation is kept on disk, keyed by its text: a later load reads it back
instead of rewriting, never trusts a file that is not a translation of that text, and never fails on the
store itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from betbot.strategies.lua import dialect
from betbot.strategies.lua.dialect import stored, translate, translate_now
from betbot.strategies.lua.dialect.stored import STORE_FROM

BLOCK = "function f{n}(t)\n  local x = 0\n  x += t[1] != nil and 1 or 0\n  return x << 1\nend\n"


def _long_script() -> str:
    text, n = "nextbet = 0.01\nfunction dobet() end\n", 0
    while len(text) < STORE_FROM:
        text += BLOCK.format(n=n)
        n += 1
    return text


def _store(data_home: Path) -> list[Path]:
    folder = data_home / "betbot" / "lua-translations"
    return sorted(folder.glob("*.json")) if folder.exists() else []


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    translate.cache_clear()
    return tmp_path


def test_a_later_load_reads_the_stored_translation_instead_of_rewriting(data_home: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    text = _long_script()
    first = translate(text)
    assert first.rewrites
    assert first == translate_now(text)
    assert len(_store(data_home)) == 1

    def no_rewrite(_source: str) -> None:
        raise AssertionError("rewritten again")

    monkeypatch.setattr(dialect, "translate_now", no_rewrite)
    translate.cache_clear()
    again = translate(text)
    assert again == first


def test_short_or_plain_scripts_are_not_stored(data_home: Path) -> None:
    translate("nextbet = 0.01\nfunction dobet() if win != true then nextbet *= 2 end end\n")
    translate("x = 1\n" * (STORE_FROM // 6 + 1) + "nextbet = 0.01\nfunction dobet() end\n")  # long but plain Lua
    assert _store(data_home) == []


def test_a_stored_file_that_is_not_this_texts_translation_is_ignored_and_replaced(data_home: Path) -> None:
    text = _long_script()
    expected = translate(text)
    (path,) = _store(data_home)
    path.write_text('{"text": "os.exit()", "rewrites": [], "stray_line": null}', encoding="utf-8")
    translate.cache_clear()
    assert translate(text) == expected  # "os.exit()" has fewer lines than the script: not its translation
    path.write_text("not json", encoding="utf-8")
    translate.cache_clear()
    assert translate(text) == expected
    translate.cache_clear()
    assert translate(text) == expected


def test_a_store_that_cannot_be_written_never_fails_the_script(data_home: Path) -> None:
    (data_home / "betbot").mkdir()
    (data_home / "betbot" / "lua-translations").write_text("a file where the folder would be")
    assert translate(_long_script()).rewrites
    translate.cache_clear()
    assert translate(_long_script()).rewrites


def test_only_the_most_recently_stored_translations_are_kept(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored, "KEEP", 2)
    texts = [_long_script() + f"x{n} = 1\n" for n in range(3)]
    for n, text in enumerate(texts):
        before = set(_store(data_home))
        translate(text)
        (new,) = set(_store(data_home)) - before
        os.utime(new, ns=(n * 10**9, n * 10**9))  # stored in this order, whatever the clock's resolution
    kept = _store(data_home)
    assert len(kept) == 2
    translate.cache_clear()
    assert all(stored.load_stored(text) is not None for text in texts[1:])
    assert stored.load_stored(texts[0]) is None
