from __future__ import annotations

from pathlib import Path

import pytest

from wirewatch.cli import main
from wirewatch.config import Config, ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "wirewatch.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_config_is_valid() -> None:
    cfg, path = load_config(REPO / "config" / "wirewatch.toml", env={})
    assert path == REPO / "config" / "wirewatch.toml"
    assert cfg.watch.inboxes == [Path("inbox")]
    assert cfg.store.database_path == Path("var/wirewatch.db")
    assert "Kiev" in cfg.extract.watchlist["Kyiv"]


def test_no_file_gives_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg, path = load_config(None, env={})
    assert path is None
    assert cfg == Config()
    assert cfg.store.after_store == "move"
    assert cfg.watch.rescan_interval == 60.0


def test_unknown_key_names_file_and_key_path(tmp_path: Path) -> None:
    p = write(tmp_path, "[watch]\ninboxs = ['x']\n")
    with pytest.raises(ConfigError) as err:
        load_config(p, env={})
    assert str(err.value) == f"{p}: watch.inboxs: unknown key"


def test_wrong_type_and_choice_are_named(tmp_path: Path) -> None:
    p = write(tmp_path, "[store]\nafter_store = 'shred'\n[pipeline]\nworkers = 'many'\n")
    with pytest.raises(ConfigError) as err:
        load_config(p, env={})
    text = str(err.value)
    assert "store.after_store:" in text and "'move', 'delete' or 'keep'" in text
    assert "pipeline.workers:" in text


def test_list_items_are_located(tmp_path: Path) -> None:
    p = write(tmp_path, "[parse]\nboilerplate_patterns = ['ok', '(unclosed']\n")
    with pytest.raises(ConfigError) as err:
        load_config(p, env={})
    assert "parse.boilerplate_patterns:" in str(err.value)
    assert "(unclosed" in str(err.value)


def test_environment_is_interpolated(tmp_path: Path) -> None:
    p = write(
        tmp_path, '[store]\nstate_dir = "${STATE}/wirewatch"\nprocessed_dir = "${NOPE:-done}"\n'
    )
    cfg, _ = load_config(p, env={"STATE": "/srv"})
    assert cfg.store.state_dir == Path("/srv/wirewatch")
    assert cfg.store.processed_dir == Path("done")


def test_missing_environment_variable_is_an_error(tmp_path: Path) -> None:
    p = write(tmp_path, '[watch]\ninboxes = ["${INBOX}"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(p, env={})
    assert str(err.value) == f"{p}: watch.inboxes[0]: environment variable INBOX is not set"


def test_toml_syntax_error(tmp_path: Path) -> None:
    p = write(tmp_path, "[watch\n")
    with pytest.raises(ConfigError, match="TOML syntax error"):
        load_config(p, env={})


def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "[pipeline]\nworkers = 2\n")
    assert main(["--config", str(good), "check"]) == 0
    assert "ok:" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline]\nworkers = 0\n", encoding="utf-8")
    assert main(["--config", str(bad), "check"]) == 1
    assert "pipeline.workers" in capsys.readouterr().err
