"""`waifu-bot` end to end through `main([...])`: JSON shapes key by key, tables, and exit code 2 on bad input."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import open_services
from bot.cli.main import build_parser, main, settings_from_args
from bot.config import Settings
from tests.drawing import BLONDE, BLUE_HAIR, PINK_HAIR, draw_character, encode

DESIGNS = {"alice": BLONDE, "bea": BLUE_HAIR, "pia": PINK_HAIR}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("WAIFU_DATABASE_URL", "WAIFU_TAGGER", "WAIFU_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "data"


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    """A folder of character sub-folders (4 pictures each) plus query pictures beside it."""
    root = tmp_path / "pictures"
    for name, design in DESIGNS.items():
        (root / name).mkdir(parents=True)
        for seed in range(4):
            draw_character(design, seed=seed + 10 * len(name)).save(root / name / f"{seed}.png")
        draw_character(design, seed=99).save(tmp_path / f"query-{name}.png")
    return root


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_bad_input(result: tuple[int, str, str], *fragments: str) -> None:
    code, out, err = result
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_import_then_identify_json(capsys, data_dir: Path, pictures: Path) -> None:
    code, out, err = run(capsys, data_dir, "import", str(pictures))
    assert code == 0
    assert "imported 12 reference(s) of 3 character(s)" in out
    assert "\r" not in err  # stderr is not a terminal here: no progress bar redraws

    query = pictures.parent / "query-bea.png"
    code, out, _ = run(capsys, data_dir, "identify", str(query), "--top", "2", "--json")
    assert code == 0
    payload = json.loads(out)
    assert list(payload) == ["image", "results"]
    assert payload["image"] == str(query)
    (region,) = payload["results"]
    assert list(region) == ["box", "matches", "unknown"]
    assert region["box"] is None
    assert region["unknown"] is False
    assert len(region["matches"]) == 2
    for match in region["matches"]:
        assert list(match) == ["character", "series", "distance", "confidence", "source"]
        assert match["source"] == "gallery"
        assert isinstance(match["distance"], float) and 0.0 <= match["confidence"] <= 1.0
    assert region["matches"][0]["character"] == "Bea"


def test_identify_several_images_prints_json_lines_and_tables(capsys, data_dir: Path, pictures: Path) -> None:
    run(capsys, data_dir, "import", str(pictures))
    queries = [str(pictures.parent / f"query-{name}.png") for name in DESIGNS]
    code, out, _ = run(capsys, data_dir, "identify", *queries, "--json")
    assert code == 0
    best = [json.loads(line)["results"][0]["matches"][0]["character"] for line in out.splitlines()]
    assert best == [name.title() for name in DESIGNS]  # import shows folder names as display names
    code, out, _ = run(capsys, data_dir, "identify", queries[0])
    assert code == 0
    assert "character" in out and "confidence" in out and "best match: Alice" in out


def test_whynot_json_and_table(capsys, data_dir: Path, pictures: Path) -> None:
    run(capsys, data_dir, "import", str(pictures))
    query = str(pictures.parent / "query-alice.png")
    code, out, _ = run(capsys, data_dir, "whynot", query, "bea", "--json")
    assert code == 0
    payload = json.loads(out)
    assert list(payload) == ["character", "rank", "distance", "best_match", "evidence", "compared_with"]
    assert payload["character"] == "Bea"
    assert payload["rank"] > 1
    assert payload["best_match"] == "Alice"
    assert payload["evidence"]
    assert payload["compared_with"] == "Alice"
    for item in payload["evidence"]:
        assert list(item) == ["tag", "image", "character", "weight", "rival"]
        assert 0.0 <= item["rival"] <= 1.0
    assert min(item["weight"] for item in payload["evidence"]) < 0
    code, out, _ = run(capsys, data_dir, "whynot", query, "bea")
    assert code == 0
    assert "best match: Alice" in out and "against" in out


def test_import_lists_each_skipped_file_after_the_summary(capsys, data_dir: Path, pictures: Path) -> None:
    copy = pictures / "bea" / "0b.jpg"
    copy.write_bytes(encode(draw_character(BLUE_HAIR, seed=30), "JPEG", quality=85))  # bea/0.png again
    broken = pictures / "pia" / "9.png"
    broken.write_bytes((pictures / "pia" / "0.png").read_bytes()[:200])
    code, out, _ = run(capsys, data_dir, "import", str(pictures), "--series", "Drawn")
    assert code == 0
    summary, *rest = out.splitlines()
    assert summary == (
        f"imported 12 reference(s) of 3 character(s) from {pictures}; skipped 1 duplicate(s) and 1 unusable file(s)."
    )
    skipped = [line for line in rest if line.startswith("  skipped ")]
    assert [line.split(": ", 1)[0] for line in skipped] == [f"  skipped {copy}", f"  skipped {broken}"]
    assert rest[: len(skipped)] == skipped  # the skipped files come first, quality warnings (if any) after
    assert "near-duplicate" in skipped[0]


def test_enroll_with_series_and_alias_then_characters(capsys, data_dir: Path, tmp_path: Path) -> None:
    images = []
    for seed in (1, 2):
        path = tmp_path / f"alice-{seed}.png"
        draw_character(BLONDE, seed=seed).save(path)
        images.append(str(path))
    code, out, _ = run(capsys, data_dir, "enroll", "Alice", *images, "--series", "Wonderland", "--alias", "アリス")
    assert code == 0
    assert "enrolled 2 reference(s) of Alice (new character)" in out
    code, out, _ = run(capsys, data_dir, "characters", "--json")
    assert code == 0
    (character,) = json.loads(out)["characters"]
    assert character["name"] == "Alice"
    assert character["series"] == "Wonderland"
    assert character["aliases"] == ["アリス"]
    assert character["references"] == 2
    code, out, _ = run(capsys, data_dir, "characters")
    assert "Alice" in out and "Wonderland" in out


def test_enroll_refuses_a_duplicate_and_writes_nothing(capsys, data_dir: Path, tmp_path: Path) -> None:
    first = tmp_path / "a.png"
    draw_character(BLONDE, seed=1).save(first)
    copy = tmp_path / "a-copy.jpg"
    copy.write_bytes(encode(draw_character(BLONDE, seed=1), "JPEG", quality=85))
    assert_bad_input(run(capsys, data_dir, "enroll", "Alice", str(first), str(copy)), "near-duplicate")
    code, out, _ = run(capsys, data_dir, "characters", "--json")
    assert code == 0
    assert json.loads(out) == {"characters": []}


CLOSE = "'Nakano Mikuu' is close to existing 'Nakano Miku'; use that name, or pass --new to create a new character"


def test_enroll_of_a_name_close_to_an_existing_one_needs_new(capsys, data_dir: Path, tmp_path: Path) -> None:
    first, second, third = (tmp_path / f"miku-{seed}.png" for seed in (1, 2, 3))
    for seed, path in enumerate((first, second, third), start=1):
        draw_character(BLONDE, seed=seed).save(path)
    assert run(capsys, data_dir, "enroll", "Nakano Miku", str(first))[0] == 0
    refused = run(capsys, data_dir, "enroll", "Nakano Mikuu", str(second))
    assert_bad_input(refused, CLOSE)
    assert refused[2].strip() == f"waifu-bot: {CLOSE}"
    code, out, _ = run(capsys, data_dir, "enroll", "nakano miku", str(second))  # the same name, any case: no question
    assert code == 0 and "of Nakano Miku:" in out
    code, out, _ = run(capsys, data_dir, "enroll", "Nakano Mikuu", str(third), "--new")
    assert code == 0 and "of Nakano Mikuu (new character)" in out
    code, out, _ = run(capsys, data_dir, "characters", "--json")
    counts = {character["name"]: character["references"] for character in json.loads(out)["characters"]}
    assert counts == {"Nakano Miku": 2, "Nakano Mikuu": 1}


def test_import_of_a_folder_close_to_an_existing_character_needs_new(capsys, data_dir: Path, tmp_path: Path) -> None:
    known = tmp_path / "miku.png"
    draw_character(BLONDE, seed=1).save(known)
    assert run(capsys, data_dir, "enroll", "Nakano Miku", str(known))[0] == 0
    folder = tmp_path / "set" / "nakano_mikuu"
    folder.mkdir(parents=True)
    draw_character(BLONDE, seed=2).save(folder / "0.png")
    assert_bad_input(run(capsys, data_dir, "import", str(tmp_path / "set")), CLOSE)
    code, out, _ = run(capsys, data_dir, "characters", "--json")
    assert [character["name"] for character in json.loads(out)["characters"]] == ["Nakano Miku"]
    code, out, _ = run(capsys, data_dir, "import", str(tmp_path / "set"), "--new")
    assert code == 0 and "imported 1 reference(s) of 1 character(s)" in out


def test_enroll_with_one_unreadable_picture_writes_nothing(capsys, data_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    draw_character(BLONDE, seed=1).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(encode(draw_character(BLUE_HAIR, seed=2), "PNG")[:200])  # cut off mid-file
    assert_bad_input(run(capsys, data_dir, "enroll", "Alice", str(good), str(bad)), str(bad))
    code, out, _ = run(capsys, data_dir, "characters", "--json")
    assert code == 0 and json.loads(out) == {"characters": []}
    pictures_kept = data_dir / "references"
    assert not pictures_kept.exists() or not any(path.is_file() for path in pictures_kept.rglob("*"))


def test_global_options_work_after_the_command_and_from_the_environment(
    capsys, data_dir: Path, pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAIFU_DATA_DIR", str(data_dir))
    assert main(["import", str(pictures / "bea"), "--tagger", "palette"]) == 2  # no sub-folders: bad input
    capsys.readouterr()
    assert main(["import", str(pictures), "--tagger", "palette"]) == 0
    assert main(["characters", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()[-1]
    assert [c["name"] for c in json.loads(out)["characters"]] == [name.title() for name in DESIGNS]
    assert (data_dir / "waifu.sqlite3").is_file()


def test_workers_option_sets_the_pool_size_before_or_after_the_command(capsys, data_dir: Path) -> None:
    for argv in (["--workers", "3", "characters"], ["characters", "--workers", "3"]):
        assert settings_from_args(build_parser().parse_args(argv)).pool.workers == 3
    in_process = settings_from_args(build_parser().parse_args(["--workers", "0", "characters"]))
    assert in_process.pool.workers == 0
    assert_bad_input(run(capsys, data_dir, "--workers", "-1", "characters"), "workers")
    assert_bad_input(run(capsys, data_dir, "characters", "--workers", "many"), "--workers")


def test_eval_json_shape(capsys, data_dir: Path, pictures: Path) -> None:
    code, out, _ = run(capsys, data_dir, "eval", str(pictures), "--refs", "2", "--seed", "1", "--json")
    assert code == 0
    payload = json.loads(out)
    assert {"macro_precision", "macro_recall", "seconds", "skipped"} <= set(payload)  # what the text shows
    assert payload["macro_precision"] == 1.0 and payload["macro_recall"] == 1.0 and payload["seconds"] > 0
    assert payload["characters"] == 3 and payload["queries"] == 6 and payload["refs"] == 2
    assert set(payload["per_character"]) == set(DESIGNS)
    assert set(payload["per_character"]["bea"]) == {"refs", "queries", "top1", "top3", "precision", "recall", "f1"}
    assert payload["top1"] == 1.0 and payload["confusions"] == []
    code, out, _ = run(capsys, data_dir, "eval", str(pictures), "--refs", "2")
    assert "top-1 1.000" in out and "macro F1" in out and "bea" in out
    assert not (data_dir / "waifu.sqlite3").exists()  # eval never touches the user's database


def test_db_upgrade_and_downgrade(capsys, data_dir: Path) -> None:
    code, out, _ = run(capsys, data_dir, "db", "upgrade")
    assert code == 0 and "schema revision" in out
    code, out, _ = run(capsys, data_dir, "db", "downgrade", "base")
    assert code == 0 and "revision base" in out
    assert_bad_input(run(capsys, data_dir, "db", "downgrade", "no-such-revision"), "no-such-revision")


def test_non_image_file_is_one_line_and_exit_2(capsys, data_dir: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("just some text")
    assert_bad_input(run(capsys, data_dir, "identify", str(text)), str(text))


def test_missing_file_is_one_line_and_exit_2(capsys, data_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    assert_bad_input(run(capsys, data_dir, "identify", str(missing)), str(missing), "no such file")
    assert_bad_input(run(capsys, data_dir, "whynot", str(missing), "alice"), "no such file")
    assert not (data_dir / "waifu.sqlite3").exists()


def test_unknown_character_suggests_names(capsys, data_dir: Path, pictures: Path) -> None:
    run(capsys, data_dir, "import", str(pictures))
    query = str(pictures.parent / "query-alice.png")
    assert_bad_input(run(capsys, data_dir, "whynot", query, "alicia"), "'alicia'", "Did you mean 'Alice'")


def test_bad_arguments_and_unknown_tagger_are_one_line(capsys, data_dir: Path, tmp_path: Path) -> None:
    assert_bad_input(run(capsys, data_dir, "identify"), "IMAGE")
    assert_bad_input(run(capsys, data_dir, "identify", "x.png", "--top", "0"), "--top")
    assert_bad_input(run(capsys, data_dir, "frobnicate"), "frobnicate")
    picture = tmp_path / "p.png"
    draw_character(BLONDE, seed=1).save(picture)
    assert_bad_input(run(capsys, data_dir, "--tagger", "wd-vit-tagger-v3", "identify", str(picture)), "models pull")


def test_help_exits_zero(capsys) -> None:
    assert main(["--help"]) == 0
    assert "identify" in capsys.readouterr().out


def test_promote_moves_a_guild_character_to_the_global_gallery(tmp_path: Path, capsys) -> None:
    """The owner's CLI promotion: the character then appears in the global `characters` list."""
    settings = Settings(data_dir=tmp_path / "promote", tagger="palette", _env_file=None)

    async def enroll_in_guild() -> None:
        services = await open_services(settings)
        try:
            image = encode(draw_character(PINK_HAIR, seed=1))
            await services.enrollment.enroll_approved("Pinky", image, guild_id=4242)
        finally:
            await services.close()

    asyncio.run(enroll_in_guild())
    data_dir = str(tmp_path / "promote")
    assert main(["--data-dir", data_dir, "promote", "pinky", "--guild", "4242"]) == 0
    assert "Pinky is now global, with 1 approved reference(s)." in capsys.readouterr().out
    assert main(["--data-dir", data_dir, "characters", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["characters"]
    assert [(c["name"], c["guild_id"]) for c in listed] == [("Pinky", None)]
    assert main(["--data-dir", data_dir, "promote", "nobody", "--guild", "4242"]) == 2


def test_a_malformed_database_url_is_one_line_and_exit_2(capsys, data_dir: Path) -> None:
    assert_bad_input(run(capsys, data_dir, "--db", "not-a-url", "characters"), "database URL")


def test_import_with_a_folder_that_is_no_valid_name_writes_nothing(capsys, data_dir: Path, pictures: Path) -> None:
    bad = pictures / ("z" * 120)  # sorts after the good folders: they must not be imported first
    bad.mkdir()
    draw_character(PINK_HAIR, seed=5).save(bad / "0.png")
    assert_bad_input(run(capsys, data_dir, "import", str(pictures)), "z" * 120, "at most")
    code, out, _ = run(capsys, data_dir, "characters")
    assert code == 0 and "no characters yet" in out


def test_a_data_dir_that_is_a_file_is_one_line_and_exit_2(capsys, tmp_path: Path) -> None:
    a_file = tmp_path / "data.txt"
    a_file.write_text("not a folder")
    assert_bad_input(run(capsys, a_file, "characters"), "data_dir", "not a folder")


def test_a_reader_that_stops_early_is_not_an_error(tmp_path: Path) -> None:
    """`waifu-bot characters | head -1` must not print "unexpected error: BrokenPipeError"."""
    environment = {**os.environ, "WAIFU_DATA_DIR": str(tmp_path / "data")}
    environment.pop("WAIFU_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "--workers", "0", "characters"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )
    process.stdout.close()  # the reader is gone before the command prints anything
    _, err = process.communicate(timeout=120)
    assert b"Traceback" not in err and b"unexpected error" not in err, err.decode()
    assert process.returncode == 141  # 128 + SIGPIPE, as a shell reports a command cut off by its reader


def test_import_through_a_pool_smaller_than_the_batch_waits_instead_of_failing(
    capsys, data_dir: Path, pictures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk import sends more pictures at once than the pool admits; "busy" means wait, not abort the import."""
    monkeypatch.setenv("WAIFU_POOL__MAX_IN_FLIGHT", "1")
    code, out, err = run(capsys, data_dir, "--workers", "1", "import", str(pictures))
    assert code == 0, err
    assert "imported 12 reference(s) of 3 character(s)" in out


def test_demo_answers_offline_and_says_what_to_do_next(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keep = tmp_path / "kept"
    assert main(["--data-dir", str(data_dir), "demo", "--keep", str(keep)]) == 0
    out = capsys.readouterr().out
    assert "5 of 5 identified correctly." in out
    assert "waifu-bot import" in out and "models pull" in out
    assert (keep / "pictures").is_dir() and not data_dir.exists()
